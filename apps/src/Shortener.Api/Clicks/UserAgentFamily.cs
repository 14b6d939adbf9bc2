namespace Shortener.Api.Clicks;

/// <summary>
/// A coarse browser family: enough for click analytics, too coarse to fingerprint anyone.
/// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
/// </summary>
public static class UserAgentFamily
{
    private static readonly (string Token, string Family)[] s_rules =
    [
        ("bot", "bot"), ("crawl", "bot"), ("spider", "bot"), ("slurp", "bot"),
        ("Edg/", "edge"), ("OPR/", "opera"), ("Firefox/", "firefox"), ("Chrome/", "chrome"), ("Chromium/", "chrome"),
        ("Safari/", "safari"), ("curl/", "curl"), ("Wget/", "wget"), ("python", "script"), ("Go-http-client", "script"),
    ];

    public static string Of(string? userAgent)
    {
        if (string.IsNullOrEmpty(userAgent)) return "none";
        foreach (var (token, family) in s_rules)
        {
            if (userAgent.Contains(token, StringComparison.OrdinalIgnoreCase)) return family;
        }
        return "other";
    }
}
