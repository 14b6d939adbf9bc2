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

public sealed record LinkStats(string Code, long TotalClicks, IReadOnlyList<DailyClicks> Days);
