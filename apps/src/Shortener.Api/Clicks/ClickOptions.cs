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

    /// <summary>Distinct keys (code, day, referrer host, user-agent family) per stream entry; this many waiting also triggers a flush.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 250;

    /// <summary>Distinct keys held in memory at most (Redis unreachable, or a flood of distinct referrers); past it new keys are dropped and counted.</summary>
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
}
