using System.ComponentModel.DataAnnotations;

namespace Shortener.Worker;

public sealed class AggregatorOptions
{
    public const string Section = "Aggregator";

    /// <summary>Stream consumer name; unique per process so a restarted worker never inherits a dead one's identity.</summary>
    public string ConsumerName { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Stream entries (click batches) read, aggregated and committed together.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 2000;

    /// <summary>Pause when the stream has nothing new (StackExchange.Redis does not issue blocking reads).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Entries pending this long on any consumer are presumed abandoned and reclaimed (XAUTOCLAIM).</summary>
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A poison entry (malformed, or rejected by PostgreSQL for good) delivered this many times moves to the dead-letter stream.</summary>
    [Range(1, 100)]
    public int MaxDeliveries { get; set; } = 5;

    /// <summary>Consumers idle this long with nothing pending are deleted from the group (stopped workers, old pods).</summary>
    public TimeSpan DeadConsumerIdle { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Approximate cap of the dead-letter stream: poison is inspected and replayed by hand, not kept forever.</summary>
    [Range(100, 10_000_000)]
    public int DeadLetterMaxLength { get; set; } = 10_000;

    /// <summary>How often the lag gauges are refreshed from Redis in the background.</summary>
    public TimeSpan LagRefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often to reclaim, dead-letter, trim the stream and prune the idempotency ledger.</summary>
    public TimeSpan MaintenanceInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a processed batch id is remembered after the last time its stream entry could still be delivered: rows
    /// are kept while an older entry is still in the stream (pending, or unread while workers were down), and this long
    /// past the oldest one. The other redelivery is an API's retry of a write that did land, bounded by the API's
    /// Clicks:UncertainWriteRetryLimit (1 minute by default): this must exceed it plus clock skew. One row per flush of an
    /// API process.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan LedgerRetention { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often batch ids past their retention are deleted.</summary>
    public TimeSpan LedgerPruneInterval { get; set; } = TimeSpan.FromMinutes(1);

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
        builder.Services.AddHostedService(services => services.GetRequiredService<StreamLagMonitor>());
        builder.Services.AddHostedService<ClickAggregator>();
        return builder;
    }
}
