using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Shortener.Api.Auth;
using StackExchange.Redis;

namespace Shortener.Api.Faults;

public sealed class FaultOptions
{
    public const string Section = "Faults";

    /// <summary>Off unless a deployment turns it on: the admin endpoints and the middleware do not exist otherwise.</summary>
    public bool Enabled { get; set; }
}

/// <summary>What a game day asked for. Route null means every route; probes and /admin are never affected.</summary>
public sealed record FaultSettings(double ErrorRate, int LatencyMs, string? Route, DateTimeOffset? CpuBurnUntil, DateTimeOffset ExpiresAt)
{
    public bool AppliesTo(string? route) => Route is null || string.Equals(Route, route, StringComparison.Ordinal);
}

public sealed record FaultRequest(double? ErrorRate, string? Route, int? LatencyMs, int? CpuSeconds, int? DurationSeconds);

/// <summary>
/// Faults shared by every replica through one Redis key (with the fault's duration as TTL), polled once a
/// second by each replica, so a game day drives the whole fleet with one call and faults end by themselves.
/// </summary>
public sealed partial class FaultInjector(IConnectionMultiplexer redis, TimeProvider time, ILogger<FaultInjector> logger) : BackgroundService, IHealthCheck
{
    public const string RedisKey = "faults:active";
    private static readonly string[] s_untouchedPrefixes = ["/admin", "/livez", "/readyz", "/healthz", "/metrics", "/version"];
    private volatile FaultSettings? _current;
    private Task<ulong[]>? _burn;

    public FaultSettings? Current => _current is { } f && f.ExpiresAt > time.GetUtcNow() ? f : null;

    public async Task SetAsync(FaultSettings settings)
    {
        var ttl = settings.ExpiresAt - time.GetUtcNow();
        await redis.GetDatabase().StringSetAsync(RedisKey, JsonSerializer.Serialize(settings), ttl);
        _current = settings;
        LogFaultSet(logger, settings.ErrorRate, settings.Route ?? "*", settings.LatencyMs, settings.CpuBurnUntil, settings.ExpiresAt);
    }

    public async Task ClearAsync()
    {
        await redis.GetDatabase().KeyDeleteAsync(RedisKey);
        _current = null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                try
                {
                    var value = await redis.GetDatabase().StringGetAsync(RedisKey);
                    _current = value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<FaultSettings>(value.ToString());
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException)
                {
                    // Keep the last known faults; they still expire on time.
                }
                if (Current?.CpuBurnUntil is { } until && until > time.GetUtcNow() && _burn is not { IsCompleted: false })
                {
                    _burn = BurnCpuUntil(until);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Spins every core until the deadline: a real CPU saturation for alerting and autoscaling demos.</summary>
    private Task<ulong[]> BurnCpuUntil(DateTimeOffset until) => Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(_ =>
        Task.Factory.StartNew(() =>
        {
            var x = 0UL;
            while (time.GetUtcNow() < until && Current is not null)
            {
                for (var i = 0; i < 1_000_000; i++) x = unchecked(x * 6364136223846793005UL + 1442695040888963407UL);
            }
            return x;
        }, TaskCreationOptions.LongRunning)));

    /// <summary>Applies active faults to the request, after routing (so the route pattern is known).</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var faults = Current;
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

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var faults = Current;
        if (faults is null) return Task.FromResult(HealthCheckResult.Healthy("no fault injected"));
        var data = new Dictionary<string, object>
        {
            ["errorRate"] = faults.ErrorRate,
            ["route"] = faults.Route ?? "*",
            ["latencyMs"] = faults.LatencyMs,
            ["cpuBurnUntil"] = faults.CpuBurnUntil?.ToString("O") ?? "",
            ["expiresAt"] = faults.ExpiresAt.ToString("O"),
        };
        // Degraded, and not tagged for readiness: visible in /healthz, never takes the instance out of rotation.
        return Task.FromResult(HealthCheckResult.Degraded("fault injection active", data: data));
    }

    [LoggerMessage(EventId = 50, EventName = "FaultSet", Level = LogLevel.Warning,
        Message = "Fault injection set: error rate {ErrorRate} on {Route}, latency {LatencyMs} ms, CPU burn until {CpuBurnUntil}, until {ExpiresAt}")]
    private static partial void LogFaultSet(ILogger logger, double errorRate, string route, int latencyMs, DateTimeOffset? cpuBurnUntil, DateTimeOffset expiresAt);
}

public static class FaultInjectionSetup
{
    public static WebApplicationBuilder AddFaultInjection(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FaultOptions>().BindConfiguration(FaultOptions.Section);
        if (!builder.Configuration.GetValue<bool>($"{FaultOptions.Section}:{nameof(FaultOptions.Enabled)}")) return builder;

        builder.Services.AddSingleton<FaultInjector>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FaultInjector>());
        builder.Services.AddHealthChecks().AddCheck<FaultInjector>("faults");
        return builder;
    }

    public static WebApplication UseFaultInjection(this WebApplication app)
    {
        if (app.Services.GetService<FaultInjector>() is not { } injector) return app;

        app.Use((context, next) => injector.InvokeAsync(context, next));
        var metrics = app.Services.GetRequiredService<ApiMetrics>();
        metrics.ObserveFaults(() => injector.Current);

        var faults = app.MapGroup("/admin/faults")
            .WithTags("Fault injection")
            .RequireAuthorization(ApiKeyAuthentication.AdminPolicy)
            .ExcludeFromDescription();
        faults.MapGet("/", () => TypedResults.Ok(injector.Current));
        faults.MapPut("/", SetAsync);
        faults.MapDelete("/", async () =>
        {
            await injector.ClearAsync();
            return TypedResults.NoContent();
        });
        return app;
    }

    private static async Task<Results<Ok<FaultSettings>, ValidationProblem>> SetAsync(FaultRequest request, FaultInjector injector, TimeProvider time)
    {
        var errors = new Dictionary<string, string[]>();
        if (request.ErrorRate is < 0 or > 1) errors["errorRate"] = ["Between 0 and 1."];
        if (request.LatencyMs is < 0 or > 60_000) errors["latencyMs"] = ["Between 0 and 60000."];
        if (request.CpuSeconds is < 0 or > 3600) errors["cpuSeconds"] = ["Between 0 and 3600."];
        if (request.DurationSeconds is not (>= 1 and <= 86_400)) errors["durationSeconds"] = ["Required, between 1 and 86400."];
        if (request.Route is { Length: > 200 }) errors["route"] = ["At most 200 characters."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var now = time.GetUtcNow();
        var settings = new FaultSettings(
            request.ErrorRate ?? 0, request.LatencyMs ?? 0, request.Route,
            request.CpuSeconds is > 0 ? now.AddSeconds(request.CpuSeconds.Value) : null,
            now.AddSeconds(request.DurationSeconds!.Value));
        await injector.SetAsync(settings);
        return TypedResults.Ok(settings);
    }
}
