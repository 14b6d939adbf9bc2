using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Shortener.Contracts;

/// <summary>Clicks of one code on one UTC day from one referrer host and user-agent family.</summary>
public readonly record struct ClickKey(string Code, DateOnly Day, string? ReferrerHost, string UserAgentFamily);

/// <summary>
/// What an API process appends to the click stream per flush: counts per <see cref="ClickKey"/> instead of one
/// entry per click, and a sample of the redirects' trace contexts. The batch id is the idempotency key: a batch
/// delivered twice is counted once (one ledger row per batch, however many clicks it carries).
/// Wire format: "counts" holds one line per key, <c>code \t yyyyMMdd \t referrer host \t user-agent family \t clicks</c>;
/// tabs and newlines cannot occur in a code, a host or a family.
/// </summary>
public sealed record ClickBatch(Guid BatchId, IReadOnlyList<(ClickKey Key, long Clicks)> Counts, IReadOnlyList<string> TraceParents)
{
    public long TotalClicks => Counts.Sum(c => c.Clicks);

    public NameValueEntry[] ToStreamFields()
    {
        var counts = new StringBuilder(Counts.Count * 48);
        foreach (var (key, clicks) in Counts)
        {
            counts.Append(key.Code).Append('\t')
                .Append(key.Day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)).Append('\t')
                .Append(key.ReferrerHost).Append('\t')
                .Append(key.UserAgentFamily).Append('\t')
                .Append(clicks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        var fields = new List<NameValueEntry>(3)
        {
            new(ClickStream.FieldBatchId, BatchId.ToString("N")),
            new(ClickStream.FieldCounts, counts.ToString()),
        };
        if (TraceParents.Count > 0) fields.Add(new(ClickStream.FieldTraceParents, string.Join(' ', TraceParents)));
        return [.. fields];
    }

    /// <summary>
    /// Parses a stream entry: a batch, or a single <see cref="ClickEvent"/> (the format before batches), which becomes a
    /// batch of one keyed by its event id so entries written by an older API are still counted exactly once.
    /// </summary>
    public static bool TryParse(NameValueEntry[] fields, [NotNullWhen(true)] out ClickBatch? batch, [NotNullWhen(false)] out string? error)
    {
        batch = null;
        string? id = null, counts = null, traceParents = null;
        foreach (var field in fields)
        {
            switch ((string?)field.Name)
            {
                case ClickStream.FieldBatchId: id = field.Value; break;
                case ClickStream.FieldCounts: counts = field.Value; break;
                case ClickStream.FieldTraceParents: traceParents = field.Value; break;
            }
        }
        if (id is null && counts is null)
        {
            if (!ClickEvent.TryParse(fields, out var click, out error)) return false;
            var key = new ClickKey(click.Code, DateOnly.FromDateTime(click.OccurredAt.UtcDateTime), click.ReferrerHost, click.UserAgentFamily);
            batch = new ClickBatch(click.EventId, [(key, 1)], click.TraceParent is null ? [] : [click.TraceParent]);
            return true;
        }
        if (!Guid.TryParseExact(id, "N", out var batchId)) { error = "missing or invalid batch id"; return false; }
        if (string.IsNullOrEmpty(counts)) { error = "missing counts"; return false; }

        var parsed = new List<(ClickKey, long)>();
        foreach (var line in counts.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            if (parts.Length != 5) { error = "a count line without 5 fields"; return false; }
            if (!ClickEvent.CodePattern().IsMatch(parts[0])) { error = "invalid code"; return false; }
            if (!DateOnly.TryParseExact(parts[1], "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
            {
                error = "invalid day";
                return false;
            }
            if (!long.TryParse(parts[4], NumberStyles.None, CultureInfo.InvariantCulture, out var clicks) || clicks < 1)
            {
                error = "invalid click count";
                return false;
            }
            var referrer = parts[2].Length == 0 ? null : parts[2][..Math.Min(parts[2].Length, 255)];
            var family = parts[3].Length == 0 ? "other" : parts[3][..Math.Min(parts[3].Length, 32)];
            parsed.Add((new ClickKey(parts[0], day, referrer, family), clicks));
        }
        batch = new ClickBatch(batchId, parsed,
            traceParents?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? []);
        error = null;
        return true;
    }
}
