using System.Diagnostics.Metrics;

namespace Shortener.Worker;

/// <summary>Worker metrics (meter "Shortener.Worker"). Lag gauges read the value <see cref="StreamLagMonitor"/> refreshes in the background.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "Shortener.Worker";

    private readonly Counter<long> _processed;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _reclaimed;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _batches;
    private readonly Counter<long> _trimmedUnread;
    private readonly Counter<long> _consumersDeleted;
    private readonly Histogram<double> _batchDuration;

    public WorkerMetrics(IMeterFactory meterFactory, StreamLagMonitor lag)
    {
        var meter = meterFactory.Create(MeterName);
        _processed = meter.CreateCounter<long>("shortener.clicks.processed", "{click}", "Clicks counted into PostgreSQL");
        _duplicates = meter.CreateCounter<long>("shortener.clicks.duplicates", "{click}", "Clicks of redelivered batches recognised and not counted again");
        _batches = meter.CreateCounter<long>("shortener.clickstream.entries_processed", "{entry}", "Stream entries (click batches) counted and acknowledged");
        _deadLettered = meter.CreateCounter<long>("shortener.clicks.dead_lettered", "{entry}", "Poison stream entries (kind: malformed or rejected by PostgreSQL) moved to the dead-letter stream");
        _trimmedUnread = meter.CreateCounter<long>("shortener.clickstream.trimmed_unread", "{entry}", "Stream entries trimmed by the stream cap before they were counted: their clicks are lost");
        _consumersDeleted = meter.CreateCounter<long>("shortener.clickstream.consumers_deleted", "{consumer}", "Idle consumers with nothing pending deleted from the group");
        _reclaimed = meter.CreateCounter<long>("shortener.clicks.reclaimed", "{entry}", "Entries reclaimed from consumers that stopped acknowledging");
        _failures = meter.CreateCounter<long>("shortener.worker.failures", "{failure}", "Failed calls to a dependency, retried");
        _batchDuration = meter.CreateHistogram<double>("shortener.worker.batch.duration", "s", "Time to count and acknowledge one batch",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

        meter.CreateObservableGauge("shortener.clickstream.pending", () => lag.Current.Pending, "{entry}", "Entries delivered to a consumer and not yet acknowledged");
        meter.CreateObservableGauge("shortener.clickstream.undelivered", () => lag.Current.Undelivered, "{entry}", "Entries not yet delivered to any consumer");
        meter.CreateObservableGauge("shortener.clickstream.lag", () => lag.Current.Total, "{entry}", "Pending plus undelivered entries: the autoscaling signal");
        meter.CreateObservableGauge("shortener.clickstream.dead_letters", () => lag.Current.DeadLettered, "{entry}", "Entries in the dead-letter stream");
        meter.CreateObservableGauge("shortener.clickstream.length", () => lag.Current.StreamLength, "{entry}", "Entries in the click stream");
    }

    public void Processed(long counted, long duplicates, int entries)
    {
        _processed.Add(counted);
        _batches.Add(entries);
        if (duplicates > 0) _duplicates.Add(duplicates);
    }

    public void DeadLettered(string kind) => _deadLettered.Add(1, new KeyValuePair<string, object?>("kind", kind));
    public void TrimmedUnread(long entries) => _trimmedUnread.Add(entries);
    public void ConsumerDeleted() => _consumersDeleted.Add(1);
    public void Reclaimed(int count) => _reclaimed.Add(count);
    public void Failure(string dependency) => _failures.Add(1, new KeyValuePair<string, object?>("dependency", dependency));
    public void BatchDuration(double seconds) => _batchDuration.Record(seconds);
}
