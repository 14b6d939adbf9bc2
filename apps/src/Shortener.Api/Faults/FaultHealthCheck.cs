using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Shortener.Api.Faults;

/// <summary>/healthz shows an active fault (Degraded), so nobody mistakes an injected failure for a real one.</summary>
public sealed class FaultHealthCheck(FaultInjector injector) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var faults = injector.Current;
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
}
