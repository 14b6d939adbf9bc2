using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Redirects;

public sealed class CacheOptions
{
    public const string Section = "Cache";

    /// <summary>Turns both cache tiers off: every redirect reads PostgreSQL (benchmarks of the cold path).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>In-process tier. Short, because it is what bounds staleness if an invalidation message is missed.</summary>
    public TimeSpan LocalTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Links (live, deleted or expired) kept in process.</summary>
    [Range(1000, 10_000_000)]
    public long LocalSizeLimit { get; set; } = 200_000;

    /// <summary>Unknown codes kept in process: a budget of their own, so a flood of random codes cannot evict hot links.</summary>
    [Range(100, 10_000_000)]
    public long NegativeSizeLimit { get; set; } = 100_000;

    /// <summary>Redis tier, shared by every replica.</summary>
    public TimeSpan RedisTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long "no such code" is remembered, in both tiers.</summary>
    public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a redirect waits for the Redis tier before reading PostgreSQL instead: a slow but connected Redis
    /// must not add its full command timeout to every in-process miss.
    /// </summary>
    public TimeSpan RedisSoftTimeout { get; set; } = TimeSpan.FromMilliseconds(100);
}
