using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Shortener.Api.Auth;
using Shortener.Api.Clicks;
using Shortener.Api.Links;
using Shortener.Contracts;

namespace Shortener.Api.Redirects;

/// <summary>GET /{code}: the public hot path. Cache lookup, a click into the in-memory buffer, and a 302/301.</summary>
public static class RedirectEndpoint
{
    public static IEndpointRouteBuilder MapRedirects(this IEndpointRouteBuilder app)
    {
        // Literal routes (/livez, /api/...) win over this parameter route, so reserved paths are never shadowed.
        app.MapGet("/{code}", RedirectAsync)
            .WithTags("Redirect")
            .RequireRateLimiting(RateLimiting.RedirectPolicy)
            .AllowAnonymous();
        return app;
    }

    public static async Task<Results<RedirectHttpResult, ProblemHttpResult>> RedirectAsync(
        string code, HttpContext http, LinkCache cache, ClickBuffer clicks, ApiMetrics metrics, TimeProvider time,
        CancellationToken ct)
    {
        if (!ClickEvent.CodePattern().IsMatch(code))
        {
            metrics.Redirect(RedirectOutcome.Unknown, CacheTier.Memory);
            return NotFound();
        }

        var (target, tier) = await cache.GetAsync(code, ct);
        var now = time.GetUtcNow();
        if (!target.Exists)
        {
            metrics.Redirect(RedirectOutcome.Unknown, tier);
            return NotFound();
        }
        if (target.IsGone(now))
        {
            metrics.Redirect(RedirectOutcome.Gone, tier);
            return TypedResults.Problem(statusCode: StatusCodes.Status410Gone, title: "Link gone",
                detail: target.Deleted ? "This link was deleted." : "This link has expired.");
        }

        // The request's own activity (not Activity.Current, which instrumentation may have moved on).
        var activity = http.Features.Get<IHttpActivityFeature>()?.Activity;
        clicks.Record(code, now, http.Request.Headers.Referer, http.Request.Headers.UserAgent, activity);
        metrics.Redirect(RedirectOutcome.Redirected, tier);
        return TypedResults.Redirect(target.Url!, permanent: target.Permanent);
    }

    private static ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Link not found");
}

public enum RedirectOutcome { Redirected, Unknown, Gone }
