using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Shortener.Api;
using Shortener.Api.Clicks;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;

namespace Shortener.Tests.Api;

/// <summary>
/// The in-memory click counts flush on time, not per batch of keys: clicks spread over many codes must stay in one
/// window to repeat a key (flushing every Clicks:BatchSize keys wrote about one key per click under a warm redirect
/// over 100,000 codes, two PostgreSQL rows per click). Only half of MaxKeys waiting flushes early, before keys drop.
/// And the publisher that flushes them survives being stopped again after disposal.
/// </summary>
public sealed class ClickBufferTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public void Dispose() => _services.Dispose();

    private ClickBuffer Buffer(int batchSize, int maxKeys) => new(
        Options.Create(new ClickOptions { BatchSize = batchSize, MaxKeys = maxKeys, FlushInterval = TimeSpan.FromHours(1) }),
        new ApiMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));

    private static void Click(ClickBuffer buffer, int code) =>
        buffer.Record($"code{code:D4}", Now, StringValues.Empty, new StringValues("Mozilla/5.0 Firefox/140.0"), activity: null);

    [Fact]
    public async Task ManyMoreKeysThanOneStreamEntryHoldsStayInOneWindow()
    {
        var buffer = Buffer(batchSize: 10, maxKeys: 1000);
        for (var i = 0; i < 3; i++)
        {
            for (var code = 0; code < 400; code++) Click(buffer, code);
        }

        var flush = buffer.WaitForFlushAsync();
        Assert.False(await Task.WhenAny(flush, Task.Delay(TimeSpan.FromMilliseconds(300))) == flush,
            "400 keys (40 stream entries' worth) triggered a flush before the interval");
        var (counts, _) = buffer.Take();
        Assert.Equal(400, counts.Count);
        Assert.All(counts.Values, clicks => Assert.Equal(3, clicks));
    }

    [Fact]
    public async Task HalfTheKeyBoundWaitingFlushesEarlyAndNothingIsDropped()
    {
        var buffer = Buffer(batchSize: 10, maxKeys: 1000);
        for (var code = 0; code < 499; code++) Click(buffer, code);
        var notYet = buffer.WaitForFlushAsync();
        Assert.False(await Task.WhenAny(notYet, Task.Delay(TimeSpan.FromMilliseconds(200))) == notYet, "flushed below half the key bound");

        Click(buffer, 499);
        Assert.False(await notYet.WaitAsync(TimeSpan.FromSeconds(5)), "the 500th key did not trigger a flush");
        var (counts, _) = buffer.Take();
        Assert.Equal(500, counts.Count);
        Assert.Equal(0, buffer.Count);
    }

    [Fact]
    public async Task ThePublisherStoppedAgainAfterDisposalDoesNotThrow()
    {
        // WebApplicationFactory can stop a host whose app already stopped and disposed it: the second StopAsync came with
        // the shutdown token already fired, and registering on it ran Cancel on the publisher's disposed token source.
        await using var redis = await RedisServer.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var options = Options.Create(new ClickOptions());
        var metrics = new ApiMetrics(_services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        var buffer = new ClickBuffer(options, metrics);
        var publisher = new ClickPublisher(buffer, connection, options, metrics, TimeProvider.System, NullLogger<ClickPublisher>.Instance);
        await publisher.StartAsync(CancellationToken.None);
        Click(buffer, 1);
        await LocalProcess.WaitUntilAsync(async () => await connection.GetDatabase().StreamLengthAsync(Shortener.Contracts.ClickStream.Key) == 1,
            TimeSpan.FromSeconds(10), "the click's flush");
        await publisher.StopAsync(CancellationToken.None);
        publisher.Dispose();

        using var fired = new CancellationTokenSource();
        await fired.CancelAsync();
        await publisher.StopAsync(fired.Token);
    }
}
