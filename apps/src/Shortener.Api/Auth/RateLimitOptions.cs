using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Auth;

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Management requests per minute per API key (or per client address before authentication). 0 disables.</summary>
    [Range(0, int.MaxValue)]
    public int ManagementPerMinute { get; set; } = 600;

    /// <summary>Redirects per second per client address. 0 disables (benchmarks, or when the edge proxy limits instead).</summary>
    [Range(0, int.MaxValue)]
    public int RedirectsPerSecond { get; set; } = 200;

    /// <summary>
    /// How long a request over its limit waits before its 429 (a tarpit). A client that waits for its answers, as
    /// scripts and bots do, is slowed to one request per connection per delay instead of costing a full request
    /// per round trip, so it cannot take the CPU from everyone else. Zero answers at once.
    /// </summary>
    public TimeSpan RejectionDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Rejections allowed to wait at the same time; past this a 429 goes out at once, so a flood of connections cannot pin unbounded memory.</summary>
    [Range(0, 1_000_000)]
    public int MaxDelayedRejections { get; set; } = 1000;
}
