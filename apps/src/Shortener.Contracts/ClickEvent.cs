using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace Shortener.Contracts;

/// <summary>
/// One redirect, as appended to the click stream. No raw client IP is ever recorded:
/// only the referrer's host and a coarse user-agent family.
/// </summary>
public sealed partial record ClickEvent(
    Guid EventId,
    string Code,
    DateTimeOffset OccurredAt,
    string? ReferrerHost,
    string UserAgentFamily,
    string? TraceParent)
{
    public NameValueEntry[] ToStreamFields()
    {
        var fields = new List<NameValueEntry>(6)
        {
            new(ClickStream.FieldEventId, EventId.ToString("N")),
            new(ClickStream.FieldCode, Code),
            new(ClickStream.FieldOccurredAtMs, OccurredAt.ToUnixTimeMilliseconds()),
            new(ClickStream.FieldUserAgentFamily, UserAgentFamily),
        };
        if (ReferrerHost is not null) fields.Add(new(ClickStream.FieldReferrerHost, ReferrerHost));
        if (TraceParent is not null) fields.Add(new(ClickStream.FieldTraceParent, TraceParent));
        return [.. fields];
    }

    /// <summary>Parses and validates a stream entry; anything malformed is poison for the consumer.</summary>
    public static bool TryParse(NameValueEntry[] fields, [NotNullWhen(true)] out ClickEvent? click, [NotNullWhen(false)] out string? error)
    {
        click = null;
        string? id = null, code = null, ts = null, referrer = null, ua = null, traceParent = null;
        foreach (var field in fields)
        {
            switch ((string?)field.Name)
            {
                case ClickStream.FieldEventId: id = field.Value; break;
                case ClickStream.FieldCode: code = field.Value; break;
                case ClickStream.FieldOccurredAtMs: ts = field.Value; break;
                case ClickStream.FieldReferrerHost: referrer = field.Value; break;
                case ClickStream.FieldUserAgentFamily: ua = field.Value; break;
                case ClickStream.FieldTraceParent: traceParent = field.Value; break;
            }
        }
        if (!Guid.TryParseExact(id, "N", out var eventId)) { error = "missing or invalid event id"; return false; }
        if (code is null || !CodePattern().IsMatch(code)) { error = "missing or invalid code"; return false; }
        if (!long.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) || ms > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            error = "missing or invalid timestamp";
            return false;
        }
        click = new ClickEvent(eventId, code, DateTimeOffset.FromUnixTimeMilliseconds(ms),
            Truncate(referrer, 255), Truncate(ua, 32) ?? "other", traceParent);
        error = null;
        return true;
    }

    private static string? Truncate(string? value, int max) => value is { Length: > 0 } ? value[..Math.Min(value.Length, max)] : null;

    /// <summary>
    /// The one definition of a valid short code, shared by API validation and the consumer. Anchored with \z, not $:
    /// in .NET "$" also matches before a final newline, so "abcd\n" would pass.
    /// </summary>
    [GeneratedRegex(@"^[A-Za-z0-9_-]{3,64}\z", RegexOptions.CultureInvariant)]
    public static partial Regex CodePattern();
}

/// <summary>Redis keys and stream field names of the click stream.</summary>
public static class ClickStream
{
    public const string Key = "clicks";
    public const string DeadLetterKey = "clicks:dead";
    public const string ConsumerGroup = "aggregator";

    public const string FieldEventId = "id";
    public const string FieldCode = "code";
    public const string FieldOccurredAtMs = "ts";
    public const string FieldReferrerHost = "ref";
    public const string FieldUserAgentFamily = "ua";
    public const string FieldTraceParent = "traceparent";

    // A pre-aggregated batch (ClickBatch): one entry per flush of an API process instead of one per click.
    public const string FieldBatchId = "batch";
    public const string FieldCounts = "counts";
    public const string FieldTraceParents = "traceparents";
}
