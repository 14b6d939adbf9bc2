using System.Globalization;

namespace Shortener.Api.Redirects;

/// <summary>
/// What a redirect needs to know about a code; <see cref="Unknown"/> is cached too (negative caching). The version
/// orders the states of one code (links.version; 0 for "unknown"): a cache never replaces a state with an older one.
/// </summary>
public sealed record LinkTarget(string? Url, bool Permanent, DateTimeOffset? ExpiresAt, bool Deleted, long Version)
{
    public static readonly LinkTarget Unknown = new(null, false, null, false, 0);

    public bool Exists => Url is not null;

    public bool IsGone(DateTimeOffset now) => Deleted || ExpiresAt <= now;

    /// <summary>
    /// Compact Redis form "v{version}|{flags}|{expiresUnixMs}|{url}" (the URL may contain '|'); unknown is "v0|u||".
    /// The leading version is what the set-if-newer script compares.
    /// </summary>
    public string ToCacheValue() => string.Create(CultureInfo.InvariantCulture,
        $"v{Version}|{(Exists ? "" : "u")}{(Permanent ? "p" : "")}{(Deleted ? "d" : "")}|{ExpiresAt?.ToUnixTimeMilliseconds()}|{Url}");

    public static LinkTarget? FromCacheValue(string? value)
    {
        if (value is null || value.Length < 5 || value[0] != 'v') return null;
        var first = value.IndexOf('|', StringComparison.Ordinal);
        var second = first < 0 ? -1 : value.IndexOf('|', first + 1);
        var third = second < 0 ? -1 : value.IndexOf('|', second + 1);
        if (third < 0 || !long.TryParse(value.AsSpan(1, first - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version)) return null;
        var flags = value.AsSpan(first + 1, second - first - 1);
        if (flags.Contains('u')) return version == 0 ? Unknown : null;
        var expires = value.AsSpan(second + 1, third - second - 1);
        DateTimeOffset? expiresAt = null;
        if (!expires.IsEmpty)
        {
            if (!long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)) return null;
            expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }
        return new LinkTarget(value[(third + 1)..], flags.Contains('p'), expiresAt, flags.Contains('d'), version);
    }
}
