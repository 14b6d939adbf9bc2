using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Shortener.ServiceDefaults;

public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>How long /readyz answers 503 before the server stops accepting requests, so load balancers notice first.</summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time left after the drain delay for in-flight requests and buffered work to finish.</summary>
    public TimeSpan FinishTimeout { get; set; } = TimeSpan.FromSeconds(20);
}

/// <summary>
/// On SIGTERM: readiness turns 503, then we wait <see cref="ShutdownOptions.DrainDelay"/> while still serving,
/// and only then does the host stop Kestrel (which completes in-flight requests) and the background services.
/// StoppingAsync of every lifecycle service runs before any StopAsync, which is exactly that order.
/// </summary>
public sealed partial class ShutdownDrain(IOptions<ShutdownOptions> options, ILogger<ShutdownDrain> logger)
    : IHostedLifecycleService, IHealthCheck
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        LogDraining(logger, options.Value.DrainDelay);
        try
        {
            await Task.Delay(options.Value.DrainDelay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Shutdown timeout reached: stop draining and let the host continue.
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_draining
            ? HealthCheckResult.Unhealthy("draining: shutting down")
            : HealthCheckResult.Healthy("accepting traffic"));

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1, EventName = "Draining", Level = LogLevel.Information,
        Message = "Shutdown requested: readiness is now failing, draining for {DrainDelay} before stopping")]
    private static partial void LogDraining(ILogger logger, TimeSpan drainDelay);
}
