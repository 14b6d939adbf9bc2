using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Clicks;

public sealed class ClickOptions
{
    public const string Section = "Clicks";

    /// <summary>
    /// How long clicks are counted in memory before they are written to the stream: the most a SIGKILL of the API
    /// can lose (SIGTERM flushes), and the floor of the counting delay.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Distinct keys (code, day, referrer host, user-agent family) per stream entry; a flush writes as many entries as it needs.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 250;

    /// <summary>
    /// Distinct keys held in memory at most (Redis unreachable, or a flood of distinct referrers); past it new keys are dropped
    /// and counted. Half of it waiting triggers a flush before the interval.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxKeys { get; set; } = 100_000;

    /// <summary>Trace contexts of sampled redirects carried per flush, for the worker's span links.</summary>
    [Range(0, 1000)]
    public int TraceSample { get; set; } = 16;

    /// <summary>
    /// Approximate cap on stream entries (XADD MAXLEN ~). With the worker down, the oldest entries go beyond it: the worker
    /// counts what it lost (shortener.clickstream.trimmed_unread) when it comes back. At one entry per flush per API
    /// process that is about 14 hours of worker downtime per replica; worst case BatchSize keys of ~40 bytes per entry.
    /// </summary>
    [Range(1000, 100_000_000)]
    public int StreamMaxLength { get; set; } = 50_000;

    /// <summary>Pause after a failed write before retrying the same batch.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a batch is retried after a write that may have reached Redis (it timed out, or the connection broke,
    /// after it was sent); then it is given up and counted in shortener.clicks.dropped{reason="write_uncertain"}.
    /// A batch whose writes never left this process (Redis unreachable) is retried for as long as it takes. The bound
    /// is what lets the worker forget batch ids: its Aggregator:LedgerRetention must exceed this (plus clock skew),
    /// or a late retry of a batch that did land would be counted twice.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan UncertainWriteRetryLimit { get; set; } = TimeSpan.FromMinutes(1);
}
