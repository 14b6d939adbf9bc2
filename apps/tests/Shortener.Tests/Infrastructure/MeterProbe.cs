using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// In-process measurements of the instruments created by one meter factory (<paramref name="scope"/>), so tests running
/// in parallel, each with its own factory, do not see each other's: counter sums and the last value of each gauge.
/// </summary>
public sealed class MeterProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _sums = new();
    private readonly ConcurrentDictionary<string, long> _last = new();
    private readonly ConcurrentDictionary<(string, string, string?), long> _lastByTag = new();

    public MeterProbe(object scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            _last[instrument.Name] = value;
            foreach (var tag in tags) _lastByTag[(instrument.Name, tag.Key, tag.Value?.ToString())] = value;
        });
        _listener.Start();
    }

    public long Sum(string instrument) => _sums.GetValueOrDefault(instrument);

    public long Last(string instrument) => _last.GetValueOrDefault(instrument, -1);

    /// <summary>The last value measured with the tag <paramref name="key"/> = <paramref name="value"/> (one series of an instrument).</summary>
    public long Last(string instrument, string key, string value) => _lastByTag.GetValueOrDefault((instrument, key, value), -1);

    /// <summary>Calls every observable instrument's callback, as an exporter's collection does.</summary>
    public void Collect() => _listener.RecordObservableInstruments();

    public void Dispose() => _listener.Dispose();
}
