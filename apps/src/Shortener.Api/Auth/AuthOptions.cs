using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Auth;

public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>The first admin key, stored hashed at start-up. Prefer <see cref="BootstrapApiKeyFile"/> (a mounted secret).</summary>
    public string? BootstrapApiKey { get; set; }

    public string? BootstrapApiKeyFile { get; set; }

    /// <summary>How long a verified key is trusted without asking PostgreSQL: a revoked key stops working within this.</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Verified keys kept in memory.</summary>
    [Range(10, 1_000_000)]
    public int KeyCacheSize { get; set; } = 10_000;

    /// <summary>Unknown keys remembered (briefly, with a budget of their own, so guessing cannot evict real keys).</summary>
    [Range(10, 1_000_000)]
    public int UnknownKeyCacheSize { get; set; } = 10_000;

    /// <summary>Failed authentications allowed per client address and minute; past this, unverified keys get 429 without a database lookup. 0 disables.</summary>
    [Range(0, 100_000)]
    public int FailuresPerMinute { get; set; } = 30;
}
