namespace Shortener.Api.Links;

public sealed record Link(
    long Id,
    string Code,
    string TargetUrl,
    bool Permanent,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? DeletedAt,
    string? Owner,
    long Version);

public sealed record CreateLinkRequest(string? Url, string? Code, DateTimeOffset? ExpiresAt, bool? Permanent);

/// <summary>A partial update: only the fields sent change. An expiry of null is "unchanged"; send <c>clearExpiry</c> to remove it.</summary>
public sealed record UpdateLinkRequest(string? Url, DateTimeOffset? ExpiresAt, bool? ClearExpiry, bool? Permanent);

public sealed record LinkResponse(
    string Code,
    string Url,
    string ShortUrl,
    bool Permanent,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? DeletedAt,
    string? Owner);

public sealed record LinkPage(IReadOnlyList<LinkResponse> Items, string? NextCursor);

public sealed record DailyClicks(DateOnly Day, long Clicks);

/// <summary>Clicks from one referrer host over the window; <c>Referrer</c> null is direct (no or no usable Referer), "(other)" the rest past the top 10.</summary>
public sealed record ReferrerClicks(string? Referrer, long Clicks);

/// <summary>Clicks of one browser family (UserAgentFamily: "chrome", "firefox", "bot", "none", ...) over the window; "(other)" the rest past the top 10.</summary>
public sealed record BrowserClicks(string Browser, long Clicks);

/// <summary>
/// Total clicks (all time), per UTC day over the window, and over the same window the top 10 referrer hosts and browser
/// families by clicks (descending, then by name; a direct referrer sorts before any host), with everything past the
/// 10th summed into one "(other)" item only when there are more than 10.
/// </summary>
public sealed record LinkStats(
    string Code,
    long TotalClicks,
    IReadOnlyList<DailyClicks> Days,
    IReadOnlyList<ReferrerClicks> ByReferrer,
    IReadOnlyList<BrowserClicks> ByBrowser);

/// <summary>What a breakdown of clicks by one dimension returns: the top items, then the rest as one item.</summary>
public static class ClickBreakdown
{
    public const int Top = 10;
    public const string Other = "(other)";
}
