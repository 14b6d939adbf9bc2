using System.ComponentModel.DataAnnotations;

namespace Shortener.Worker;

public sealed class AggregatorOptions
{
    public const string Section = "Aggregator";

    /// <summary>Stream consumer name; unique per process so a restarted worker never inherits a dead one's identity.</summary>
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Events read, aggregated and committed together.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 2000;

    /// <summary>Pause when the stream has nothing new (StackExchange.Redis does not issue blocking reads).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Entries pending this long on any consumer are presumed abandoned and reclaimed (XAUTOCLAIM).</summary>
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A malformed entry delivered this many times moves to the dead-letter stream.</summary>
    [Range(1, 100)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>How often to reclaim, dead-letter, trim the stream and prune the idempotency ledger.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long processed event ids are remembered; must exceed any redelivery delay (ClaimMinIdle, outages).</summary>
    public TimeSpan LedgerRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Backoff after a failed PostgreSQL or Redis call.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

public static class WorkerServices
{
    public static WebApplicationBuilder AddClickAggregation(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AggregatorOptions>().BindConfiguration(AggregatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<ClickLedger>();
        builder.Services.AddSingleton<StreamLagMonitor>();
        builder.Services.AddHostedService<ClickAggregator>();
        return builder;
    }
}
