using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Shortener.Contracts;

namespace Shortener.Api.Clicks;

/// <summary>
/// The bounded hand-off between redirects and <see cref="ClickPublisher"/>: recording a click is a
/// non-blocking in-memory write, so Redis latency or an outage never reaches the redirect's response time.
/// When the buffer is full the click is dropped and counted.
/// </summary>
public sealed class ClickBuffer
{
    private readonly Channel<ClickEvent> _channel;
    private readonly ApiMetrics _metrics;

    public ClickBuffer(IOptions<ClickOptions> options, ApiMetrics metrics)
    {
        _metrics = metrics;
        _channel = Channel.CreateBounded<ClickEvent>(new BoundedChannelOptions(options.Value.BufferCapacity)
        {
            // With Wait, TryWrite never waits: it returns false when full, which is the drop we count.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        metrics.ObserveClickBuffer(() => _channel.Reader.Count);
    }

    public ChannelReader<ClickEvent> Reader => _channel.Reader;

    public int Count => _channel.Reader.Count;

    public void Record(string code, DateTimeOffset now, StringValues referer, StringValues userAgent, Activity? activity)
    {
        var click = new ClickEvent(
            Guid.CreateVersion7(now),
            code,
            now,
            ReferrerHost(referer),
            UserAgentFamily.Of(userAgent),
            TraceParent(activity ?? Activity.Current));
        if (_channel.Writer.TryWrite(click)) _metrics.ClickEnqueued();
        else _metrics.ClickDropped();
    }

    /// <summary>No more clicks are accepted; the publisher drains what is left and stops.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    private static string? ReferrerHost(StringValues referer) =>
        Uri.TryCreate(referer.ToString(), UriKind.Absolute, out var uri) && uri.IdnHost is { Length: > 0 and <= 255 } host
            ? host.ToLowerInvariant()
            : null;

    /// <summary>
    /// W3C traceparent of the redirect, so the worker's batch span can link back to it. Only for a sampled
    /// (recorded) trace: a link to a trace that was never exported leads nowhere, and the string costs an allocation per click.
    /// </summary>
    private static string? TraceParent(Activity? activity) =>
        activity is { Recorded: true, IdFormat: ActivityIdFormat.W3C } ? activity.Id : null;
}
