using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;

namespace Shortener.Web;

/// <summary>
/// A signed-in user is an API key held in an encrypted, HttpOnly, SameSite=Strict session cookie: scripts cannot read
/// it, it never appears in a URL, and it is gone when the browser session ends (or after the idle lifetime). The key is
/// checked against the API at sign-in and by every call after it, so a revoked key stops working at once.
/// </summary>
public static class ConsoleSession
{
    public const string CookieName = "shortener-console";
    public const string AdminRole = "admin";
    private const string KeyClaim = "shortener:api-key";

    public static IServiceCollection AddConsoleSession(this IServiceCollection services)
    {
        services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = CookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                // Secure whenever the browser came over HTTPS (Traefik says so in X-Forwarded-Proto).
                options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                options.SlidingExpiration = true;
                options.LoginPath = "/signin";
                options.LogoutPath = "/signout";
                options.AccessDeniedPath = "/not-found";
                options.ReturnUrlParameter = "returnUrl";
            });
        services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<IOptions<ConsoleOptions>>((cookie, console) => cookie.ExpireTimeSpan = console.Value.SessionLifetime);
        services.AddAuthorization();
        return services;
    }

    public static Task SignInAsync(HttpContext http, string key, bool admin)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, "API key …" + key[^Math.Min(4, key.Length)..]), new(KeyClaim, key) };
        if (admin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
        // Not persistent: a session cookie, dropped when the browser session ends.
        return http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal, new AuthenticationProperties { IsPersistent = false });
    }

    public static Task SignOutAsync(HttpContext http) => http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);

    /// <summary>The signed-in user's API key (only ever sent to the API, never rendered or logged).</summary>
    public static string ApiKey(this ClaimsPrincipal user) =>
        user.FindFirstValue(KeyClaim) ?? throw new InvalidOperationException("Not signed in.");
}
