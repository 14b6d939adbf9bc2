using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;
using Shortener.Tests.Infrastructure;
using Shortener.Tests.Resilience;
using Xunit.Abstractions;

namespace Shortener.Tests.Backups;

/// <summary>
/// How restore time grows with the database (`make restore-bench`; not part of `make test`, it takes minutes):
/// for each size, links seeded through SQL into an archiving PostgreSQL, a full backup into the drill's repository
/// configuration, then the data directory deleted and restored, and the time until PostgreSQL answers again. The
/// figures and a straight-line extrapolation go to bench/results and back docs/runbooks/restore.md.
/// Sizes: RESTORE_BENCH_SIZES (comma-separated link counts; default 1,000,000 and 10,000,000).
/// </summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Benchmark")]
public sealed class RestoreScaleBenchmark(ITestOutputHelper output)
{
    private sealed record Measurement(long Links, long DatabaseBytes, long RepositoryBytes, double BackupSeconds,
        double RestoreSeconds, double ReadySeconds);

    [Fact]
    public async Task RestoreTimeGrowsWithTheDatabase()
    {
        var sizes = (Environment.GetEnvironmentVariable("RESTORE_BENCH_SIZES") is { Length: > 0 } configured ? configured : "1000000,10000000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(size => long.Parse(size, CultureInfo.InvariantCulture))
            .ToArray();
        var measurements = new List<Measurement>();
        foreach (var links in sizes) measurements.Add(await MeasureAsync(links));
        WriteReport(measurements);
    }

    private async Task<Measurement> MeasureAsync(long links)
    {
        using var pgbackrest = await PgBackRest.CreateAsync();
        await using var postgres = await PostgresServer.StartAsync(server =>
        {
            pgbackrest.WriteConfig(server);
            return pgbackrest.ArchiveSettings(TimeSpan.FromSeconds(60));
        });
        var database = await postgres.CreateDatabaseAsync("scale");
        var databaseName = new NpgsqlConnectionStringBuilder(database).Database!;
        await pgbackrest.RunAsync("stanza-create");

        // Links as the API writes them (the same table, its indexes and constraints), a million per statement. Codes
        // and paths are hashes, not counters: random keys fill the index as real codes do, and the data compresses
        // like real URLs rather than like a sequence (sequential synthetic rows compressed 16:1 in the repository).
        var seed = Stopwatch.StartNew();
        await using (var connection = new NpgsqlConnection(database + ";Command Timeout=0"))
        {
            await connection.OpenAsync();
            for (long from = 1; from <= links; from += 1_000_000)
            {
                await using var command = new NpgsqlCommand("""
                    INSERT INTO links (code, target_url)
                    SELECT substr(md5(i::text), 1, 16), 'https://example.com/articles/' || md5('path' || i) || '?utm_source=newsletter&id=' || i
                    FROM generate_series(@from, @to) AS i
                    """, connection);
                command.Parameters.AddWithValue("from", from);
                command.Parameters.AddWithValue("to", Math.Min(links, from + 999_999));
                await command.ExecuteNonQueryAsync();
            }
            await using var analyze = new NpgsqlCommand("VACUUM ANALYZE links; CHECKPOINT", connection);
            await analyze.ExecuteNonQueryAsync();
        }
        var seedSeconds = seed.Elapsed.TotalSeconds;
        var databaseBytes = await RestoreDrillTests.ScalarAsync<long>(database, $"SELECT pg_database_size('{databaseName}')");
        Log($"{links:N0} links: database {Mb(databaseBytes):F0} MB, seeded in {seedSeconds:F0} s");

        var backup = Stopwatch.StartNew();
        await pgbackrest.RunAsync("backup", "--type=full");
        var backupSeconds = backup.Elapsed.TotalSeconds;
        var info = (await pgbackrest.InfoAsync())[0].GetProperty("backup").EnumerateArray().Last().GetProperty("info");
        var backupBytes = info.GetProperty("size").GetInt64();
        var repositoryBytes = info.GetProperty("repository").GetProperty("delta").GetInt64();
        Log($"full backup: {backupSeconds:F1} s for {Mb(backupBytes):F0} MB of files ({Mb(backupBytes) / backupSeconds:F0} MB/s), {Mb(repositoryBytes):F0} MB in the repository");

        // The disaster of the drill, without the load: the data directory gone, the newest backup restored.
        await postgres.KillAsync();
        Directory.Delete(postgres.DataDir, recursive: true);
        var restore = Stopwatch.StartNew();
        await pgbackrest.RunAsync("restore", "--type=immediate", "--target-action=promote");
        var restoreSeconds = restore.Elapsed.TotalSeconds;
        await postgres.StartProcessAsync();
        await LocalProcess.WaitUntilAsync(async () => !await RestoreDrillTests.ScalarAsync<bool>(database, "SELECT pg_is_in_recovery()"),
            TimeSpan.FromMinutes(30), "recovery to finish");
        var readySeconds = restore.Elapsed.TotalSeconds;
        Assert.Equal(links, await RestoreDrillTests.ScalarAsync<long>(database, "SELECT count(*) FROM links"));
        Log($"restore: {restoreSeconds:F1} s ({Mb(backupBytes) / restoreSeconds:F0} MB/s), answering queries {readySeconds:F1} s after it began");
        return new Measurement(links, databaseBytes, repositoryBytes, backupSeconds, restoreSeconds, readySeconds);
    }

    /// <summary>A Markdown table in bench/results (and the test output), with the time to ready extrapolated on a straight line.</summary>
    private void WriteReport(List<Measurement> measurements)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Restore time by database size ({DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)");
        report.AppendLine();
        report.AppendLine("pgBackRest full backup and restore (zstd level 3, aes-256-cbc, process-max 2) of a database of links seeded through SQL; `make restore-bench`.");
        report.AppendLine();
        report.AppendLine("| links | database MB | repository MB | backup s | backup MB/s | restore s | restore MB/s | restore to answering s |");
        report.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var m in measurements)
        {
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Links:N0} | {Mb(m.DatabaseBytes):F0} | {Mb(m.RepositoryBytes):F0} | {m.BackupSeconds:F1} | {Mb(m.DatabaseBytes) / m.BackupSeconds:F0} | {m.RestoreSeconds:F1} | {Mb(m.DatabaseBytes) / m.RestoreSeconds:F0} | {m.ReadySeconds:F1} |");
        }
        if (measurements.Count >= 2)
        {
            // Two points: time = fixed + per-link × links. The fixed part is process starts and recovery's checkpoint.
            var (small, large) = (measurements[0], measurements[^1]);
            var perLink = (large.ReadySeconds - small.ReadySeconds) / (large.Links - small.Links);
            var fixedSeconds = small.ReadySeconds - perLink * small.Links;
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture,
                $"Straight line through the two sizes: {fixedSeconds:F1} s + {perLink * 1e6:F2} s per million links; 100 M links ≈ {(fixedSeconds + perLink * 1e8) / 60:F1} min, 1 B links ≈ {(fixedSeconds + perLink * 1e9) / 60:F0} min on this machine.");
        }
        var text = report.ToString();
        output.WriteLine(text);
        var results = Path.Combine(ServiceProcess.RepoRoot(), "bench", "results");
        Directory.CreateDirectory(results);
        File.WriteAllText(Path.Combine(results, $"{DateTimeOffset.UtcNow:yyyy-MM-dd-HHmmss}-restore-scale.md"), text);
    }

    private void Log(string line) => output.WriteLine(line);

    private static double Mb(long bytes) => bytes / 1e6;
}
