using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Shortener.Contracts;

namespace Shortener.Api.Clicks;

/// <summary>
/// Clicks counted in memory per <see cref="ClickKey"/> until <see cref="ClickPublisher"/> flushes them (every
/// <see cref="ClickOptions.FlushInterval"/>, or sooner once half of <see cref="ClickOptions.MaxKeys"/> keys are waiting):
/// a redirect costs one dictionary increment, and a hot code one stream entry per flush instead of one per click.
/// The window is time, not a batch of keys: clicks spread over many codes repeat a key only over a long enough window
/// (flushing every 250 keys, a saturated warm redirect over 100,000 codes sent ~1 click per key, two PostgreSQL row
/// writes per click, and reached half the bare endpoint's rate end to end).
/// Memory is bounded by <see cref="ClickOptions.MaxKeys"/> distinct keys; past it (Redis down long enough, or a
/// flood of distinct referrers) a click of a new key is dropped and counted, never blocking a redirect.
/// A trace-context sample (<see cref="ClickOptions.TraceSample"/> per flush) lets the worker's span link back to redirects.
/// </summary>
/// <remarks>
/// Not disposable: its semaphore holds no kernel handle (AvailableWaitHandle is never used), and a disposed one made
/// <see cref="Complete"/> throw ObjectDisposedException when a host stop ran while its services were being disposed
/// (a WebApplicationFactory host stopped by the factory while the app's own Run() stopped and disposed it: a fixture
/// cleanup failure in a clean-clone `make test`).
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "SemaphoreSlim needs disposing only once its AvailableWaitHandle was created; see remarks.")]
public sealed class ClickBuffer
{
    private readonly Lock _gate = new();
    private readonly ClickOptions _options;
    private readonly SemaphoreSlim _flushDue = new(0);
    private Dictionary<ClickKey, long> _counts = [];
    private List<string> _traceParents = [];
    private long _buffered;
    private long _accepted;
    private long _dropped;
    private bool _completed;

    public ClickBuffer(IOptions<ClickOptions> options, ApiMetrics metrics)
    {
        _options = options.Value;
        metrics.ObserveClickBuffer(() => Volatile.Read(ref _buffered), () => Volatile.Read(ref _accepted), () => Volatile.Read(ref _dropped));
    }

    /// <summary>Keys that trigger a flush before the interval: far from <see cref="ClickOptions.MaxKeys"/>, so a burst of distinct keys is flushed, not dropped.</summary>
    private int EarlyFlushKeys => Math.Max(1, _options.MaxKeys / 2);

    /// <summary>Clicks counted and not yet taken by a flush.</summary>
    public long Count => Volatile.Read(ref _buffered);

    public void Record(string code, DateTimeOffset now, StringValues referer, StringValues userAgent, Activity? activity)
    {
        var key = new ClickKey(code, DateOnly.FromDateTime(now.UtcDateTime), ReferrerHost(referer), UserAgentFamily.Of(userAgent));
        activity ??= Activity.Current;
        lock (_gate)
        {
            if (!_completed)
            {
                ref var clicks = ref CollectionsMarshal.GetValueRefOrAddDefault(_counts, key, out var exists);
                if (exists || _counts.Count <= _options.MaxKeys)
                {
                    clicks++;
                    _buffered++;
                    _accepted++;
                    if (!exists && _counts.Count == EarlyFlushKeys) _flushDue.Release();
                    // Only a sampled (recorded) trace: a link to a trace that was never exported leads nowhere.
                    if (_traceParents.Count < _options.TraceSample && activity is { Recorded: true, IdFormat: ActivityIdFormat.W3C })
                    {
                        _traceParents.Add(activity.Id!);
                    }
                }
                else
                {
                    _counts.Remove(key);
                    _dropped++;
                }
            }
            else
            {
                _dropped++;
            }
        }
    }

    /// <summary>Waits for the next flush: the interval elapsed, half the key bound reached, or completion. True once completed.</summary>
    public async Task<bool> WaitForFlushAsync()
    {
        await _flushDue.WaitAsync(_options.FlushInterval);
        lock (_gate) return _completed;
    }

    /// <summary>Takes everything counted so far; later clicks go to fresh counts.</summary>
    public (Dictionary<ClickKey, long> Counts, List<string> TraceParents) Take()
    {
        lock (_gate)
        {
            var taken = (_counts, _traceParents);
            _counts = new Dictionary<ClickKey, long>(Math.Min(taken._counts.Count, _options.MaxKeys));
            _traceParents = [];
            _buffered = 0;
            return taken;
        }
    }

    /// <summary>No more clicks are accepted; the publisher flushes what is left and stops.</summary>
    public void Complete()
    {
        lock (_gate) _completed = true;
        _flushDue.Release();
    }

    private static string? ReferrerHost(StringValues referer) =>
        referer.Count == 0 ? null
        : Uri.TryCreate(referer.ToString(), UriKind.Absolute, out var uri) && uri.IdnHost is { Length: > 0 and <= 255 } host
            ? host.ToLowerInvariant()
            : null;
}
