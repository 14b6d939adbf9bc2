using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Backups;

/// <summary>
/// A real pgBackRest repository for one stanza, in a work directory of its own: the configuration the drill
/// uses is the one docs/runbooks/restore.md describes (encrypted repository, zstd, asynchronous archiving).
/// Every command runs as the user PostgreSQL runs as, as it must to read the data directory.
/// </summary>
public sealed class PgBackRest : IDisposable
{
    public const string Stanza = "shortener";

    private PgBackRest(string workDir) => WorkDir = workDir;

    public string WorkDir { get; }
    public string ConfigPath => Path.Combine(WorkDir, "pgbackrest.conf");
    public string RepositoryPath => Path.Combine(WorkDir, "repo");
    private string SocketDir => Path.Combine(WorkDir, "run");

    /// <summary>Creates the work directory; <see cref="WriteConfig"/> follows once the server's data directory and port are known.</summary>
    public static async Task<PgBackRest> CreateAsync()
    {
        if (!File.Exists("/usr/bin/pgbackrest"))
        {
            throw new InvalidOperationException(
                "pgBackRest is not installed. Install it with: sudo apt-get install -y pgbackrest (make test does this when run as root).");
        }
        var workDir = Path.Combine(PostgresServer.TempRoot(), $"pgbackrest-{Guid.NewGuid():N}"[..24]);
        foreach (var dir in new[] { "", "repo", "log", "lock", "spool", "run" }) Directory.CreateDirectory(Path.Combine(workDir, dir));
        if (LocalProcess.IsRoot) await LocalProcess.RunAsync("chown", "-R", "postgres:postgres", workDir);
        return new PgBackRest(workDir);
    }

    /// <summary>The settings that make PostgreSQL archive every WAL segment into this repository.</summary>
    public IReadOnlyList<string> ArchiveSettings(TimeSpan archiveTimeout) =>
    [
        "wal_level=replica",
        "archive_mode=on",
        $"archive_command=pgbackrest --config={ConfigPath} --stanza={Stanza} archive-push %p",
        $"archive_timeout={(int)archiveTimeout.TotalSeconds}s",
        // The socket outside the data directory, so a backup never carries it.
        $"unix_socket_directories={SocketDir}",
        // The server's log (recovery progress, archiver errors) stays in the work directory for a failed drill.
        "logging_collector=on",
        $"log_directory={Path.Combine(WorkDir, "log")}",
        "log_filename=postgresql-%H%M%S.log",
        // The drill measures real durability: the test server's shortcuts are turned back off.
        "full_page_writes=on",
        "synchronous_commit=on",
    ];

    public void WriteConfig(PostgresServer server)
    {
        // A fresh cipher pass per drill; in production it comes from a secret (see deploy/compose/pgbackrest).
        var cipherPass = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(ConfigPath, $"""
            [global]
            repo1-path={RepositoryPath}
            repo1-retention-full=2
            repo1-cipher-type=aes-256-cbc
            repo1-cipher-pass={cipherPass}
            compress-type=zst
            compress-level=3
            archive-async=y
            spool-path={Path.Combine(WorkDir, "spool")}
            process-max=2
            start-fast=y
            log-path={Path.Combine(WorkDir, "log")}
            lock-path={Path.Combine(WorkDir, "lock")}
            log-level-console=warn
            log-level-file=info

            [{Stanza}]
            pg1-path={server.DataDir}
            pg1-port={server.Port}
            pg1-socket-path={SocketDir}
            pg1-user=postgres

            """);
        File.SetUnixFileMode(ConfigPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (LocalProcess.IsRoot) LocalProcess.RunAsync("chown", "postgres:postgres", ConfigPath).GetAwaiter().GetResult();
    }

    /// <summary>Runs one pgBackRest command for the stanza; returns its standard output, throws with its output if it fails.</summary>
    public async Task<string> RunAsync(params string[] arguments)
    {
        var start = LocalProcess.IsRoot
            ? new ProcessStartInfo("setpriv") { ArgumentList = { "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "pgbackrest" } }
            : new ProcessStartInfo("pgbackrest");
        start.ArgumentList.Add("--config=" + ConfigPath);
        start.ArgumentList.Add("--stanza=" + Stanza);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        // pgBackRest checks that it can reach its working directory; the test's may be private to root.
        start.WorkingDirectory = WorkDir;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pgbackrest {string.Join(' ', arguments)} failed ({process.ExitCode}): {await stdout}{await stderr}");
        }
        return await stdout;
    }

    public async Task<JsonElement> InfoAsync() => JsonDocument.Parse(await RunAsync("--output=json", "info")).RootElement.Clone();

    /// <summary>Keep the work directory (repository, logs) for a post-mortem.</summary>
    public bool Keep { get; set; }

    public void Dispose()
    {
        if (Keep) return;
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it lives under the temp dir.
        }
    }
}
