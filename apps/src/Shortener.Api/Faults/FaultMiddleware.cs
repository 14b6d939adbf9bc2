using System.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace Shortener.Api.Faults;

/// <summary>Errors and latency injected into requests while a fault is active; probes and /admin are never touched.</summary>
public sealed class FaultMiddleware(FaultInjector injector)
{
    private static readonly string[] s_untouchedPrefixes = ["/admin", "/livez", "/readyz", "/healthz", "/metrics", "/version"];

    /// <summary>Applies active faults to the request, after routing (so the route pattern is known).</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var faults = injector.Current;
        if (faults is null || s_untouchedPrefixes.Any(p => context.Request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase)))
        {
            await next(context);
            return;
        }
        if (!faults.AppliesTo((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText))
        {
            await next(context);
            return;
        }
        if (faults.LatencyMs > 0)
        {
            await Task.Delay(faults.LatencyMs, context.RequestAborted);
        }
        if (faults.ErrorRate > 0 && Random.Shared.NextDouble() < faults.ErrorRate)
        {
            Activity.Current?.SetTag("shortener.fault", "error");
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new ProblemDetails { Status = 500, Title = "Injected fault", Detail = "Fault injection is active (game day)." },
            });
            return;
        }
        await next(context);
    }
}
