using System.Diagnostics.Metrics;
using Shortener.Api.Redirects;

namespace Shortener.Api;

/// <summary>Business metrics of the API (meter "Shortener.Api"), exported with the built-in ones on /metrics.</summary>
public sealed class ApiMetrics
{
    public const string MeterName = "Shortener.Api";

    private readonly Meter _meter;
    private readonly Counter<long> _linksCreated;
    private readonly Counter<long> _redirects;
    private readonly Counter<long> _clicksPublished;
    private readonly Counter<long> _redisFailures;
    private readonly Counter<long> _cacheLoads;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _linksCreated = _meter.CreateCounter<long>("shortener.links.created", "{link}", "Links created");
        _redirects = _meter.CreateCounter<long>("shortener.redirects", "{redirect}", "Redirect lookups by result and the cache tier that answered");
        _clicksPublished = _meter.CreateCounter<long>("shortener.clicks.published", "{click}", "Clicks written to the Redis stream (in pre-aggregated batches)");
        _redisFailures = _meter.CreateCounter<long>("shortener.redis.failures", "{failure}", "Redis operations that failed and were degraded around");
        _cacheLoads = _meter.CreateCounter<long>("shortener.link_cache.loads", "{load}",
            "In-process cache misses loaded from Redis or PostgreSQL (concurrent misses of one code share one load)");
    }

    public void LinkCreated() => _linksCreated.Add(1);

    public void Redirect(RedirectOutcome outcome, CacheTier tier) =>
        _redirects.Add(1, new("result", outcome switch
        {
            RedirectOutcome.Redirected => "redirected",
            RedirectOutcome.Gone => "gone",
            _ => "unknown",
        }), new("tier", tier switch
        {
            CacheTier.Memory => "memory",
            CacheTier.Redis => "redis",
            _ => "database",
        }));

    public void CacheLoad(CacheTier tier) =>
        _cacheLoads.Add(1, new KeyValuePair<string, object?>("tier", tier == CacheTier.Redis ? "redis" : "database"));

    public void ClicksPublished(long count) => _clicksPublished.Add(count);
    public void RedisFailure(string operation) => _redisFailures.Add(1, new KeyValuePair<string, object?>("operation", operation));

    /// <summary>1 per active fault kind, so a dashboard or an alert can tell an injected failure from a real one.</summary>
    public void ObserveFaults(Func<Faults.FaultSettings?> current) =>
        _meter.CreateObservableGauge("shortener.faults.active", () =>
        {
            var faults = current();
            return new[]
            {
                new Measurement<int>(faults is { ErrorRate: > 0 } ? 1 : 0, new KeyValuePair<string, object?>("fault", "errors")),
                new Measurement<int>(faults is { LatencyMs: > 0 } ? 1 : 0, new KeyValuePair<string, object?>("fault", "latency")),
                new Measurement<int>(faults?.CpuBurnUntil > DateTimeOffset.UtcNow ? 1 : 0, new KeyValuePair<string, object?>("fault", "cpu")),
            };
        }, "{fault}", "Injected faults currently active");

    /// <summary>Read at collection time from the buffer's own tallies: a redirect never touches an instrument for its click.</summary>
    public void ObserveClickBuffer(Func<long> buffered, Func<long> accepted, Func<long> dropped)
    {
        _meter.CreateObservableGauge("shortener.clicks.buffered", buffered, "{click}", "Clicks counted in memory, waiting for the next flush to the stream");
        _meter.CreateObservableCounter("shortener.clicks.enqueued", accepted, "{click}", "Clicks accepted into the in-memory counts");
        _meter.CreateObservableCounter("shortener.clicks.dropped", () => new[]
        {
            new Measurement<long>(dropped(), new KeyValuePair<string, object?>("reason", "buffer_full")),
            new Measurement<long>(Volatile.Read(ref _abandonedUncertain), new KeyValuePair<string, object?>("reason", "write_uncertain")),
            new Measurement<long>(Volatile.Read(ref _abandonedAtShutdown), new KeyValuePair<string, object?>("reason", "shutdown")),
        }, "{click}", "Clicks given up: the in-memory counts were full, a write that may have reached Redis was retried for too long, or shutdown came with Redis unreachable");
    }

    private long _abandonedUncertain;
    private long _abandonedAtShutdown;

    /// <summary>A batch given up after a write that may have landed was retried for Clicks:UncertainWriteRetryLimit.</summary>
    public void ClicksAbandonedUncertain(long count) => Interlocked.Add(ref _abandonedUncertain, count);

    public void ClicksAbandonedAtShutdown(long count) => Interlocked.Add(ref _abandonedAtShutdown, count);
}
