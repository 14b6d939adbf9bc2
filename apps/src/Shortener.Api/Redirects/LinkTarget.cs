using System.Globalization;

namespace Shortener.Api.Redirects;

/// <summary>What a redirect needs to know about a code; <see cref="Unknown"/> is cached too (negative caching).</summary>
public sealed record LinkTarget(string? Url, bool Permanent, DateTimeOffset? ExpiresAt, bool Deleted)
{
    public static readonly LinkTarget Unknown = new(null, false, null, false);

    public bool Exists => Url is not null;

    public bool IsGone(DateTimeOffset now) => Deleted || ExpiresAt <= now;

    /// <summary>Compact Redis form: "!" for unknown, else "flags|expiresUnixMs|url" (the URL may contain '|').</summary>
    public string ToCacheValue() => !Exists
        ? "!"
        : $"{(Permanent ? "p" : "")}{(Deleted ? "d" : "")}|{ExpiresAt?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}|{Url}";

    public static LinkTarget? FromCacheValue(string? value)
    {
        if (value is null) return null;
        if (value == "!") return Unknown;
        var first = value.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : value.IndexOf('|', first + 1);
        if (second < 0) return null;
        var flags = value.AsSpan(0, first);
        var expires = value.AsSpan(first + 1, second - first - 1);
        DateTimeOffset? expiresAt = null;
        if (!expires.IsEmpty)
        {
            if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)) return null;
            expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        return new LinkTarget(value[(second + 1)..], flags.Contains('p'), expiresAt, flags.Contains('d'));
    }
}
