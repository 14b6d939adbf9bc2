using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Npgsql;
using Shortener.Api.Problems;

namespace Shortener.Api.Auth;

/// <summary>
/// API keys as an ASP.NET Core authentication scheme: "Authorization: Bearer KEY" or "X-Api-Key: KEY". It is not the
/// default scheme: only endpoints that require authorization (management, admin) run it, so a redirect or a probe
/// never looks at credentials, never costs a key lookup and never fails because PostgreSQL is down.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    AuthFailureLimiter failures,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string AdminRole = "admin";
    public const string OwnerClaim = "shortener:owner";
    private const int MaxKeyLength = 128;
    private static readonly object s_tooManyFailures = new();
    private static readonly object s_keysNotReady = new();
    public const int KeysNotReadyRetryAfterSeconds = 2;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request);
        if (key is null) return AuthenticateResult.NoResult();
        if (key.Length > MaxKeyLength) return Failed();

        var identity = keys.FindCached(key);
        if (identity is null)
        {
            // A client that keeps guessing is refused before it costs a database lookup.
            if (failures.IsBlocked(Context))
            {
                Context.Items[s_tooManyFailures] = true;
                return AuthenticateResult.Fail("Too many failed authentications.");
            }
            var bootstrapPending = keys.BootstrapPending;
            try
            {
                identity = await keys.FindAsync(key, Context.RequestAborted);
            }
            catch (NpgsqlException ex)
            {
                // Surfaces as 503 through the exception handler, not as "wrong key".
                throw new DependencyUnavailableException("PostgreSQL", ex);
            }
            if (identity is null && bootstrapPending)
            {
                // The key may be the bootstrap key the API has not stored yet: "retry shortly", not a failure
                // that spends the caller's budget (an admin retrying at start-up would lock itself out).
                Context.Items[s_keysNotReady] = true;
                return AuthenticateResult.Fail("API keys are not loaded yet.");
            }
            if (identity is null) return Failed();
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, identity.Id.ToString(CultureInfo.InvariantCulture)),
            new(ClaimTypes.Name, identity.Name),
            new(OwnerClaim, identity.Owner),
        };
        if (identity.IsAdmin) claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private AuthenticateResult Failed()
    {
        failures.Record(Context);
        return AuthenticateResult.Fail("Invalid API key.");
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) =>
        Context.Items.ContainsKey(s_tooManyFailures)
            ? WriteProblemAsync(StatusCodes.Status429TooManyRequests, "Too many failed authentications",
                $"Too many invalid API keys from this address; retry after {AuthFailureLimiter.RetryAfterSeconds} seconds.",
                AuthFailureLimiter.RetryAfterSeconds)
            : Context.Items.ContainsKey(s_keysNotReady)
            ? WriteProblemAsync(StatusCodes.Status503ServiceUnavailable, "API keys not loaded yet",
                "The API is starting and has not stored its bootstrap key yet; retry shortly.", KeysNotReadyRetryAfterSeconds)
            : WriteProblemAsync(StatusCodes.Status401Unauthorized, "Authentication required",
                "Send an API key as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY'.");

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "Forbidden", "This API key may not do this.");

    private async Task WriteProblemAsync(int status, string title, string detail, int? retryAfterSeconds = null)
    {
        Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized) Response.Headers.WWWAuthenticate = "Bearer";
        if (retryAfterSeconds is { } seconds) Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var header) && header.Count == 1 && !string.IsNullOrWhiteSpace(header[0]))
        {
            return header[0]!.Trim();
        }
        var authorization = request.Headers.Authorization.ToString();
        const string bearer = "Bearer ";
        return authorization.StartsWith(bearer, StringComparison.OrdinalIgnoreCase) && authorization.Length > bearer.Length
            ? authorization[bearer.Length..].Trim()
            : null;
    }
}

/// <summary>Counts failed authentications per client (IPv6 per /64); a client over its budget is refused without a lookup.</summary>
public sealed class AuthFailureLimiter : IDisposable
{
    public const int RetryAfterSeconds = 60;
    private readonly PartitionedRateLimiter<IPAddress>? _limiter;

    public AuthFailureLimiter(IOptions<AuthOptions> options)
    {
        var perMinute = options.Value.FailuresPerMinute;
        if (perMinute == 0) return;
        _limiter = PartitionedRateLimiter.Create<IPAddress, IPAddress>(address => RateLimitPartition.GetTokenBucketLimiter(address, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = perMinute,
                TokensPerPeriod = Math.Max(1, perMinute / 6),
                ReplenishmentPeriod = TimeSpan.FromSeconds(10),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public bool IsBlocked(HttpContext context) =>
        _limiter?.GetStatistics(context.ClientPartition()) is { CurrentAvailablePermits: <= 0 };

    public void Record(HttpContext context) => _limiter?.AttemptAcquire(context.ClientPartition()).Dispose();

    public void Dispose() => _limiter?.Dispose();
}

public static class ApiKeyAuthentication
{
    public const string AdminPolicy = "admin";

    public static IServiceCollection AddApiKeyAuthentication(this IServiceCollection services)
    {
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AuthFailureLimiter>();
        services.AddHostedService<BootstrapApiKey>();
        // No default scheme: ASP.NET Core makes a lone scheme the default unless this switch is set (read when the
        // default is first asked for), and a default would run the handler on every request. Without one,
        // authentication runs only where a policy below names the scheme.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetDefaultPolicy(new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build())
            .AddPolicy(AdminPolicy, policy => policy
                .AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName)
                .RequireRole(ApiKeyAuthenticationHandler.AdminRole));
        return services;
    }

    public static long? ApiKeyId(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>Whose links the caller may see: null for an admin (every link), else the key's owner.</summary>
    public static string? OwnerScope(this ClaimsPrincipal user) =>
        user.IsInRole(ApiKeyAuthenticationHandler.AdminRole) ? null : user.FindFirstValue(ApiKeyAuthenticationHandler.OwnerClaim) ?? "";
}
