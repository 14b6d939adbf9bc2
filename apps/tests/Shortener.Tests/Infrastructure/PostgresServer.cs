extern alias migrations;
using System.Diagnostics;
using Npgsql;
using migrations::Shortener.Migrations;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// A real, throwaway PostgreSQL server (initdb into a temp dir, free port, fsync off). Each test class
/// gets its own database, copied from a template that the real migrator migrated once.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private const string TemplateDatabase = "shortener_template";
    private static readonly SemaphoreSlim s_createLock = new(1, 1);
    private readonly string _binDir;
    private Process? _process;
    private IReadOnlyList<string> _settings = [];

    private PostgresServer(string binDir, string dataDir, int port)
    {
        _binDir = binDir;
        DataDir = dataDir;
        Port = port;
    }

    public string BinDir => _binDir;

    public string DataDir { get; }
    public int Port { get; }
    public bool IsRunning => _process is { HasExited: false };

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Timeout=3;Command Timeout=10";

    /// <summary>
    /// Starts a new server. <paramref name="settings"/> (given the server, so they can name its data directory and
    /// port) are extra <c>-c name=value</c> settings, kept for every later start, e.g. WAL archiving.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(Func<PostgresServer, IReadOnlyList<string>>? settings = null)
    {
        _ = s_staleSwept.Value;
        var dataDir = Path.Combine(TempRoot(), $"pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..30]);
        Directory.CreateDirectory(dataDir);
        if (LocalProcess.IsRoot) await LocalProcess.RunAsync("chown", "postgres:postgres", dataDir);

        var server = new PostgresServer(FindBinDir(), dataDir, TestPorts.Next());
        server._settings = settings?.Invoke(server) ?? [];
        await server.RunAsOwnerAsync("initdb", "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync");
        await server.StartProcessAsync();
        await server.MigrateTemplateAsync();
        return server;
    }

    /// <summary>
    /// Data directories of earlier test runs whose process is gone (a test host stopped before its exit handler
    /// ran leaves its shared server's directory, hundreds of MB, behind): removed once per run. A directory is
    /// named after the process that made it, so a live run's are never touched.
    /// </summary>
    private static readonly Lazy<bool> s_staleSwept = new(() =>
    {
        foreach (var dir in Directory.EnumerateDirectories(TempRoot(), "pg-*"))
        {
            var parts = Path.GetFileName(dir).Split('-');
            if (parts.Length < 3 || !int.TryParse(parts[1], out var pid) || ProcessIsAlive(pid)) continue;
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Best effort, as for the run's own directories.
            }
        }
        return true;
    });

    private static bool ProcessIsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A server for a data directory that already exists (e.g. restored from a backup), on a new port; not started.</summary>
    public static PostgresServer ForExistingDataDir(string dataDir, IReadOnlyList<string> settings) =>
        new(FindBinDir(), dataDir, TestPorts.Next()) { _settings = settings };

    /// <summary>A directory every user can create in (sticky, like /tmp), so the postgres user can reach what lies below.</summary>
    public static string TempRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), "shortener-tests");
        Directory.CreateDirectory(root);
        File.SetUnixFileMode(root, (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit);
        return root;
    }

    private static string FindBinDir()
    {
        var binDir = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres"))).Order().LastOrDefault()
            : null;
        return binDir ?? throw new InvalidOperationException(
            "PostgreSQL is not installed. Install it with: sudo apt-get install -y postgresql (make test does this when run as root).");
    }

    /// <summary>A fresh, migrated database of its own for one test class.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix.ToLowerInvariant()[..Math.Min(prefix.Length, 20)]}_{Guid.NewGuid():N}";
        await s_createLock.WaitAsync();
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE {TemplateDatabase}", connection);
            await command.ExecuteNonQueryAsync();
        }
        finally
        {
            s_createLock.Release();
        }
        return ConnectionString(name);
    }

    /// <summary>Fast shutdown (SIGINT), as an outage.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        LocalProcess.Signal(_process, LocalProcess.SigInt);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        _process = null;
    }

    /// <summary>SIGKILL, as a crash: no shutdown checkpoint, nothing flushed.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        LocalProcess.Signal(_process, LocalProcess.SigKill);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _process.Dispose();
        _process = null;
    }

    public async Task StartProcessAsync()
    {
        List<string> arguments =
        [
            "-D", DataDir, "-c", "listen_addresses=127.0.0.1", "-c", $"port={Port}", "-c", $"unix_socket_directories={DataDir}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
            .. _settings.SelectMany(setting => new[] { "-c", setting }),
        ];
        _process = LocalProcess.IsRoot
            ? LocalProcess.Start("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", Path.Combine(_binDir, "postgres"), .. arguments])
            : LocalProcess.Start(Path.Combine(_binDir, "postgres"), arguments);
        await LocalProcess.WaitUntilAsync(async () =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"postgres exited with {_process.ExitCode}");
            await using var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false;Timeout=1");
            await connection.OpenAsync();
            return true;
        }, TimeSpan.FromSeconds(30), "PostgreSQL to accept connections");
    }

    private async Task MigrateTemplateAsync()
    {
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres") + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {TemplateDatabase}", connection);
            await create.ExecuteNonQueryAsync();
        }
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString(TemplateDatabase) + ";Pooling=false");
        var migrator = new Migrator(dataSource, Microsoft.Extensions.Options.Options.Create(new MigrationOptions()),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Migrator>.Instance);
        await migrator.ApplyAsync(CancellationToken.None);
    }

    private Task RunAsOwnerAsync(string tool, params string[] arguments) => LocalProcess.IsRoot
        ? LocalProcess.RunAsync("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", Path.Combine(_binDir, tool), .. arguments])
        : LocalProcess.RunAsync(Path.Combine(_binDir, tool), arguments);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (TimeoutException)
        {
            if (_process is not null) LocalProcess.Signal(_process, LocalProcess.SigKill);
        }
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: it lives under the temp dir.
        }
    }
}
