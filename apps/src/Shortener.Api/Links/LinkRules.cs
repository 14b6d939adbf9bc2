using System.Collections.Frozen;
using System.Security.Cryptography;
using Shortener.Contracts;

namespace Shortener.Api.Links;

/// <summary>What makes a target URL and a short code acceptable.</summary>
public static class LinkRules
{
    public const int MaxUrlLength = 2048;
    private const string CodeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>Top-level paths the service owns or may own; a custom code can never shadow them (case-insensitive).</summary>
    public static readonly FrozenSet<string> ReservedCodes = new[]
    {
        "api", "healthz", "readyz", "livez", "version", "metrics", "openapi", "scalar", "swagger", "docs",
        "admin", "login", "logout", "static", "assets", "favicon", "robots", "sitemap", "well-known", "status",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static string? ValidateCode(string code)
    {
        if (!ClickEvent.CodePattern().IsMatch(code)) return "Codes are 3 to 64 characters of A-Z, a-z, 0-9, '_' and '-'.";
        if (ReservedCodes.Contains(code)) return $"'{code}' is reserved.";
        return null;
    }

    /// <summary>
    /// Accepts absolute http(s) URLs only (no javascript:, data:, file: or relative targets), without
    /// credentials, and returns them in an ASCII-only form that is safe to put in a Location header.
    /// </summary>
    public static string? NormalizeUrl(string url, out string? error)
    {
        error = null;
        if (url.Length > MaxUrlLength) { error = $"URLs are at most {MaxUrlLength} characters."; return null; }
        if (url.Any(char.IsControl)) { error = "The URL contains control characters."; return null; }
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            error = "Only absolute http:// and https:// URLs can be shortened.";
            return null;
        }
        if (string.IsNullOrEmpty(uri.Host)) { error = "The URL has no host."; return null; }
        if (!string.IsNullOrEmpty(uri.UserInfo)) { error = "URLs with embedded credentials are refused."; return null; }

        string normalized;
        try
        {
            // IdnHost is the punycode host; the rest comes out percent-encoded.
            normalized = new UriBuilder(uri) { Host = uri.IdnHost }.Uri.GetComponents(UriComponents.AbsoluteUri, UriFormat.UriEscaped);
        }
        catch (UriFormatException)
        {
            error = "The URL could not be parsed.";
            return null;
        }
        if (normalized.Length > MaxUrlLength || normalized.Any(c => c is < (char)0x21 or > (char)0x7e))
        {
            error = "The URL is too long or not representable once encoded.";
            return null;
        }
        return normalized;
    }

    /// <summary>True when the (normalized, absolute) URL's host is one of <paramref name="hosts"/>: a link to itself would loop.</summary>
    public static bool PointsAt(string normalizedUrl, IEnumerable<string> hosts) =>
        Uri.TryCreate(normalizedUrl, UriKind.Absolute, out var uri)
        && hosts.Any(host => string.Equals(uri.IdnHost.TrimEnd('.'), host.TrimEnd('.'), StringComparison.OrdinalIgnoreCase));

    public static string GenerateCode(int length) => RandomNumberGenerator.GetString(CodeAlphabet, length);
}
