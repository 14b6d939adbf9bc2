using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Shortener.BackupMetrics;

// Usage: Shortener.BackupMetrics --out FILE.prom [--pgbackrest-config FILE] [--info-file FILE] [--postgres CONNECTION]
//   --info-file   read `pgbackrest info --output=json` saved by the backup job instead of running pgbackrest here
//   --postgres    also read pg_stat_archiver (needs pg_monitor); PGPASSFILE or Passfile= for the password
// The file is replaced atomically, so node_exporter never serves half of it.
var options = ParseOptions(args);
if (!options.TryGetValue("out", out var output))
{
    Console.Error.WriteLine("Usage: Shortener.BackupMetrics --out FILE.prom [--pgbackrest-config FILE] [--info-file FILE] [--postgres CONNECTION]");
    return 2;
}

JsonElement? info = null;
try
{
    var json = options.TryGetValue("info-file", out var infoFile)
        ? await File.ReadAllTextAsync(infoFile)
        : await RunPgBackRestInfoAsync(options.GetValueOrDefault("pgbackrest-config"));
    info = JsonDocument.Parse(json).RootElement.Clone();
}
catch (Exception ex) when (ex is IOException or JsonException or InvalidOperationException or System.ComponentModel.Win32Exception)
{
    // Still write the file: pgbackrest_info_success 0 is what the alert needs to see.
    Console.Error.WriteLine("pgbackrest info failed: " + ex.Message);
}

ArchiverStatus? archiver = null;
if (options.TryGetValue("postgres", out var connectionString))
{
    try
    {
        archiver = await ReadArchiverAsync(connectionString);
    }
    catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
    {
        Console.Error.WriteLine("pg_stat_archiver could not be read: " + ex.Message);
    }
}

var temporary = output + ".tmp";
await File.WriteAllTextAsync(temporary, BackupMetricsWriter.Render(info, archiver, DateTimeOffset.UtcNow));
File.Move(temporary, output, overwrite: true);
return info is null ? 1 : 0;

static async Task<string> RunPgBackRestInfoAsync(string? config)
{
    var start = new ProcessStartInfo("pgbackrest") { RedirectStandardOutput = true, RedirectStandardError = true };
    if (config is not null) start.ArgumentList.Add("--config=" + config);
    start.ArgumentList.Add("--output=json");
    start.ArgumentList.Add("info");
    using var process = Process.Start(start) ?? throw new InvalidOperationException("pgbackrest did not start");
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync();
    if (process.ExitCode != 0) throw new InvalidOperationException($"pgbackrest info exited with {process.ExitCode}: {await stderr}");
    return await stdout;
}

static async Task<ArchiverStatus> ReadArchiverAsync(string connectionString)
{
    await using var connection = new NpgsqlConnection(connectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("""
        SELECT archived_count, failed_count, last_archived_time, last_failed_time,
               (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')
        FROM pg_stat_archiver
        """, connection);
    await using var reader = await command.ExecuteReaderAsync();
    await reader.ReadAsync();
    return new ArchiverStatus(reader.GetInt64(0), reader.GetInt64(1),
        reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
        reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
        reader.GetInt64(4));
}

static Dictionary<string, string> ParseOptions(string[] args)
{
    var options = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal)) break;
        options[args[i][2..]] = args[i + 1];
    }
    return options;
}
