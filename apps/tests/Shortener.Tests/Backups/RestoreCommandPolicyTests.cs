using System.Text.RegularExpressions;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Backups;

/// <summary>
/// A restore into another directory (a copy beside production) must name a spool path and a lock path of its own.
/// pgBackRest's restore deletes the stanza's archive spool, where production's asynchronous archive-push waits for
/// its acknowledgements, and the archiver then stalls for archive-timeout (the restore drill measured 57 s of archive
/// lag instead of about 6). And archive-get and archive-push take the same per-stanza lock file: the copy's
/// asynchronous archive-get fails while production's push holds it, and the copy's recovery then waits out
/// archive-timeout (the drill timed out at 60 s under load), or production's push waits for the copy's get.
/// Every such command in the docs and scripts is checked.
/// </summary>
public sealed partial class RestoreCommandPolicyTests
{
    private static readonly string s_root = ServiceProcess.RepoRoot();
    private static readonly string[] s_ownPaths = ["--spool-path", "--lock-path"];

    [Fact]
    public void EveryRestoreBesideProductionHasItsOwnSpoolAndLockPaths()
    {
        var files = Directory.EnumerateFiles(s_root, "*.*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".md", StringComparison.Ordinal) || path.EndsWith(".sh", StringComparison.Ordinal)
                           || path.EndsWith(".yaml", StringComparison.Ordinal))
            .Where(path => !Path.GetRelativePath(s_root, path).Split(Path.DirectorySeparatorChar)
                .Any(part => part is ".git" or "bin" or "obj" or "node_modules" or ".data"));
        var copies = 0;
        var problems = new List<string>();
        foreach (var file in files)
        {
            foreach (var command in RestoresIntoAnotherDirectory(File.ReadAllText(file)))
            {
                copies++;
                var missing = s_ownPaths.Where(option => !command.Contains(option, StringComparison.Ordinal)).ToList();
                if (missing.Count > 0) problems.Add($"{Path.GetRelativePath(s_root, file)} (no {string.Join(", ", missing)}): {command}");
            }
        }
        Assert.True(copies > 0, "no restore into another directory found: the runbook's copy beside production moved?");
        Assert.True(problems.Count == 0, "restores beside production sharing its spool or lock path:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void TheCheckFindsARestoreThatSharesTheSpoolOrLockPath()
    {
        const string Bad = """
            pgbackrest --stanza=shortener restore --pg1-path=/var/tmp/pitr-copy --archive-mode=off \
              --type=time --target='2026-12-02 07:30:00+00' --target-action=promote
            """;
        Assert.DoesNotContain("--spool-path", Assert.Single(RestoresIntoAnotherDirectory(Bad)));
        Assert.DoesNotContain("--lock-path", Assert.Single(RestoresIntoAnotherDirectory(Bad + " --spool-path=/var/tmp/pitr-copy-spool")));
        // A restore in place (production stopped) is meant to clear the spool; it is not a copy.
        Assert.Empty(RestoresIntoAnotherDirectory("pgbackrest --stanza=shortener restore --delta --type=time --target=T"));
    }

    /// <summary>pgbackrest restore commands (continuation lines joined) that restore into a --pg1-path of their own.</summary>
    private static IEnumerable<string> RestoresIntoAnotherDirectory(string text) =>
        ContinuationLines().Replace(text, " ").Split('\n')
            .Select(line => line.Trim())
            .Where(line => RestoreCommand().IsMatch(line) && line.Contains("--pg1-path", StringComparison.Ordinal));

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex ContinuationLines();

    [GeneratedRegex(@"\bpgbackrest\b.*\srestore(\s|$)")]
    private static partial Regex RestoreCommand();
}
