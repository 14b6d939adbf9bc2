using System.ComponentModel.DataAnnotations;

namespace Shortener.Api;

public sealed class LinkOptions
{
    public const string Section = "Links";

    /// <summary>Base of the short URLs returned by the API, e.g. https://sho.rt. Empty: the request's own scheme and host.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Length of generated codes: 62^8 ≈ 2.2e14 possibilities, far too many to enumerate.</summary>
    [Range(6, 32)]
    public int GeneratedCodeLength { get; set; } = 8;
}

public sealed class CacheOptions
{
    public const string Section = "Cache";

    /// <summary>Turns both cache tiers off: every redirect reads PostgreSQL (benchmarks of the cold path).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>In-process tier. Short, because it is what bounds staleness if an invalidation message is missed.</summary>
    public TimeSpan LocalTtl { get; set; } = TimeSpan.FromSeconds(30);

    [Range(1000, 10_000_000)]
    public long LocalSizeLimit { get; set; } = 200_000;

    /// <summary>Redis tier, shared by every replica.</summary>
    public TimeSpan RedisTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long "no such code" is remembered, in both tiers.</summary>
    public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class ClickOptions
{
    public const string Section = "Clicks";

    /// <summary>Clicks waiting to be written to the stream; past this they are dropped (and counted), never blocking a redirect.</summary>
    [Range(1, 10_000_000)]
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>Events per pipelined write to Redis.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>Pause after a failed write before retrying the same batch.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}

public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The first admin key, stored hashed at start-up. Prefer <see cref="BootstrapApiKeyFile"/> (a mounted secret).</summary>
    public string? BootstrapApiKey { get; set; }

    public string? BootstrapApiKeyFile { get; set; }
}

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Management requests per minute per API key (or per client IP before authentication). 0 disables.</summary>
    [Range(0, int.MaxValue)]
    public int ManagementPerMinute { get; set; } = 600;

    /// <summary>Redirects per second per client IP. 0 disables (benchmarks, or when the edge proxy limits instead).</summary>
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
