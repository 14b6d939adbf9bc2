namespace Shortener.Api.Links;

public sealed record Link(
    long Id,
    string Code,
    string TargetUrl,
    bool Permanent,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? DeletedAt);

public sealed record CreateLinkRequest(string? Url, string? Code, DateTimeOffset? ExpiresAt, bool? Permanent);

public sealed record LinkResponse(
    string Code,
    string Url,
    string ShortUrl,
    bool Permanent,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? DeletedAt);

public sealed record LinkPage(IReadOnlyList<LinkResponse> Items, string? NextCursor);

public sealed record DailyClicks(DateOnly Day, long Clicks);

public sealed record LinkStats(string Code, long TotalClicks, IReadOnlyList<DailyClicks> Days);
