using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Shortener.BackupMetrics;

/// <summary>What PostgreSQL says about WAL archiving (pg_stat_archiver and the archive_status directory).</summary>
public sealed record ArchiverStatus(
    long ArchivedCount, long FailedCount, DateTimeOffset? LastArchivedAt, DateTimeOffset? LastFailedAt, long SegmentsPendingArchive);

/// <summary>
/// Renders backup and archiving state in the Prometheus text format. Units are in the names (seconds,
/// bytes); timestamps are Unix seconds, so alerts compare them with time().
/// </summary>
public static class BackupMetricsWriter
{
    public static readonly string[] BackupTypes = ["full", "diff", "incr"];

    public static string Render(JsonElement? info, ArchiverStatus? archiver, DateTimeOffset collectedAt)
    {
        var text = new StringBuilder();
        var metrics = new Metrics(text);

        metrics.Gauge("pgbackrest_metrics_collected_timestamp_seconds", "When these backup metrics were collected.",
            [(Labels(), collectedAt.ToUnixTimeSeconds())]);
        metrics.Gauge("pgbackrest_info_success", "1 if `pgbackrest info` answered and was understood, else 0.",
            [(Labels(), info is null ? 0 : 1)]);

        if (info is { } stanzas)
        {
            var status = new List<(string, double)>();
            var completion = new List<(string, double)>();
            var duration = new List<(string, double)>();
            var databaseSize = new List<(string, double)>();
            var repositorySize = new List<(string, double)>();
            var count = new List<(string, double)>();
            foreach (var stanza in stanzas.EnumerateArray())
            {
                var name = stanza.GetProperty("name").GetString()!;
                status.Add((Labels(("stanza", name)), stanza.GetProperty("status").GetProperty("code").GetInt32()));
                var backups = stanza.TryGetProperty("backup", out var list) ? list.EnumerateArray().Where(b => !IsErrored(b)).ToList() : [];
                foreach (var type in BackupTypes)
                {
                    var ofType = backups.Where(b => b.GetProperty("type").GetString() == type).ToList();
                    var labels = Labels(("stanza", name), ("type", type));
                    count.Add((labels, ofType.Count));
                    var last = ofType.OrderBy(b => b.GetProperty("timestamp").GetProperty("stop").GetInt64()).LastOrDefault();
                    if (last.ValueKind != JsonValueKind.Object) continue;
                    var start = last.GetProperty("timestamp").GetProperty("start").GetInt64();
                    var stop = last.GetProperty("timestamp").GetProperty("stop").GetInt64();
                    var sizes = last.GetProperty("info");
                    completion.Add((labels, stop));
                    duration.Add((labels, stop - start));
                    databaseSize.Add((labels, sizes.GetProperty("size").GetInt64()));
                    repositorySize.Add((labels, sizes.GetProperty("repository").GetProperty("delta").GetInt64()));
                }
            }
            metrics.Gauge("pgbackrest_stanza_status_code", "pgBackRest's status code of the stanza: 0 is ok (see `pgbackrest info`).", status);
            metrics.Gauge("pgbackrest_backup_count", "Backups of this type held in the repository.", count);
            metrics.Gauge("pgbackrest_backup_last_completion_timestamp_seconds", "When the newest backup of this type finished.", completion);
            metrics.Gauge("pgbackrest_backup_last_duration_seconds", "How long the newest backup of this type took.", duration);
            metrics.Gauge("pgbackrest_backup_last_database_size_bytes", "Size of the database the newest backup of this type restores.", databaseSize);
            metrics.Gauge("pgbackrest_backup_last_repository_size_bytes", "What the newest backup of this type added to the repository (compressed, encrypted).", repositorySize);
        }

        if (archiver is { } a)
        {
            metrics.Counter("postgres_wal_archived_total", "WAL files archived since the statistics were reset (pg_stat_archiver.archived_count).",
                [(Labels(), a.ArchivedCount)]);
            metrics.Counter("postgres_wal_archive_failures_total", "Failed archive_command runs (pg_stat_archiver.failed_count).",
                [(Labels(), a.FailedCount)]);
            metrics.Gauge("postgres_wal_archive_last_success_timestamp_seconds", "When a WAL file was last archived; 0 if never.",
                [(Labels(), a.LastArchivedAt?.ToUnixTimeSeconds() ?? 0)]);
            metrics.Gauge("postgres_wal_archive_last_failure_timestamp_seconds", "When archive_command last failed; 0 if never.",
                [(Labels(), a.LastFailedAt?.ToUnixTimeSeconds() ?? 0)]);
            metrics.Gauge("postgres_wal_segments_pending_archive", "WAL segments written but not archived yet (.ready files): the archive lag.",
                [(Labels(), a.SegmentsPendingArchive)]);
        }
        return text.ToString();
    }

    // A backup that pgBackRest marked as errored (pages with checksum errors) does not count as a good backup.
    private static bool IsErrored(JsonElement backup) => backup.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.True;

    private static string Labels(params (string Name, string Value)[] labels) => labels.Length == 0
        ? ""
        : "{" + string.Join(",", labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\"")) + "}";

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Metrics(StringBuilder text)
    {
        public void Gauge(string name, string help, IEnumerable<(string Labels, double Value)> samples) => Write(name, "gauge", help, samples);

        public void Counter(string name, string help, IEnumerable<(string Labels, double Value)> samples) => Write(name, "counter", help, samples);

        private void Write(string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var (labels, value) in samples)
            {
                text.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
        }
    }
}
