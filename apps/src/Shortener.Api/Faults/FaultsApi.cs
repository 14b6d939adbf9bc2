using Microsoft.AspNetCore.Http.HttpResults;
using Shortener.Api.Auth;

namespace Shortener.Api.Faults;

/// <summary>Wiring (only when Faults:Enabled) and the admin endpoints: GET, PUT and DELETE /admin/faults.</summary>
public static class FaultsApi
{
    public static WebApplicationBuilder AddFaultInjection(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FaultOptions>().BindConfiguration(FaultOptions.Section);
        if (!builder.Configuration.GetValue<bool>($"{FaultOptions.Section}:{nameof(FaultOptions.Enabled)}")) return builder;

        builder.Services.AddSingleton<FaultInjector>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FaultInjector>());
        builder.Services.AddSingleton<FaultMiddleware>();
        builder.Services.AddHealthChecks().AddCheck<FaultHealthCheck>("faults");
        return builder;
    }

    public static WebApplication UseFaultInjection(this WebApplication app)
    {
        if (app.Services.GetService<FaultInjector>() is not { } injector) return app;

        var middleware = app.Services.GetRequiredService<FaultMiddleware>();
        app.Use((context, next) => middleware.InvokeAsync(context, next));
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
