using System.Diagnostics.Metrics;

namespace Shortener.Worker;

/// <summary>Worker metrics (meter "Shortener.Worker"). Lag gauges read Redis at scrape time, so they are never stale.</summary>
public sealed class WorkerMetrics
{
    public const string MeterName = "Shortener.Worker";

    private readonly Counter<long> _processed;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _reclaimed;
    private readonly Counter<long> _failures;
    private readonly Histogram<double> _batchDuration;

    public WorkerMetrics(IMeterFactory meterFactory, StreamLagMonitor lag)
    {
        var meter = meterFactory.Create(MeterName);
        _processed = meter.CreateCounter<long>("shortener.clicks.processed", "{click}", "Click events counted into PostgreSQL");
        _duplicates = meter.CreateCounter<long>("shortener.clicks.duplicates", "{click}", "Redelivered click events recognised and not counted again");
        _deadLettered = meter.CreateCounter<long>("shortener.clicks.dead_lettered", "{entry}", "Malformed stream entries moved to the dead-letter stream");
        _reclaimed = meter.CreateCounter<long>("shortener.clicks.reclaimed", "{entry}", "Entries reclaimed from consumers that stopped acknowledging");
        _failures = meter.CreateCounter<long>("shortener.worker.failures", "{failure}", "Failed calls to a dependency, retried");
        _batchDuration = meter.CreateHistogram<double>("shortener.worker.batch.duration", "s", "Time to count and acknowledge one batch",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });

        meter.CreateObservableGauge("shortener.clickstream.pending", () => Read(lag).Pending, "{entry}", "Entries delivered to a consumer and not yet acknowledged");
        meter.CreateObservableGauge("shortener.clickstream.undelivered", () => Read(lag).Undelivered, "{entry}", "Entries not yet delivered to any consumer");
        meter.CreateObservableGauge("shortener.clickstream.lag", () => Read(lag).Total, "{entry}", "Pending plus undelivered entries: the autoscaling signal");
        meter.CreateObservableGauge("shortener.clickstream.dead_letters", () => Read(lag).DeadLettered, "{entry}", "Entries in the dead-letter stream");
    }

    private StreamLag? _last;
    private long _lastReadTicks;

    /// <summary>One Redis read serves all four gauges of a scrape.</summary>
    private StreamLag Read(StreamLagMonitor lag)
    {
        var now = Environment.TickCount64;
        if (_last is null || now - Interlocked.Read(ref _lastReadTicks) > 500)
        {
            try
            {
                _last = lag.ReadAsync().GetAwaiter().GetResult();
                Interlocked.Exchange(ref _lastReadTicks, now);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                return _last ?? new StreamLag(0, 0, 0, 0);
            }
        }
        return _last;
    }

    public void Processed(int counted, int duplicates)
    {
        _processed.Add(counted);
        if (duplicates > 0) _duplicates.Add(duplicates);
    }

    public void DeadLettered() => _deadLettered.Add(1);
    public void Reclaimed(int count) => _reclaimed.Add(count);
    public void Failure(string dependency) => _failures.Add(1, new KeyValuePair<string, object?>("dependency", dependency));
    public void BatchDuration(double seconds) => _batchDuration.Record(seconds);
}
