extern alias worker;

using System.Diagnostics;
using System.Net;
using Shortener.Contracts;
using Shortener.Tests.Api;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Worker;

/// <summary>
/// The click pipeline stays bounded whatever the traffic (ADR 0010): the stream and the idempotency ledger grow with
/// flushes, not clicks; the stream cap's losses are counted; poison is dead-lettered; dead consumers go; lag gauges
/// never wait on Redis.
/// </summary>
public sealed class ClickPipelineBoundsTests : IAsyncLifetime
{
    private WorkerTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await WorkerTestKit.CreateAsync(nameof(ClickPipelineBoundsTests));

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    private async Task<ClickAggregator> RunAsync(AggregatorOptions options)
    {
        var aggregator = _kit.Aggregator(options);
        await aggregator.StartAsync(CancellationToken.None);
        return aggregator;
    }

    [Fact]
    public async Task ThousandsOfRedirectsBecomeAFewStreamEntriesAndLedgerRowsAndAreAllCounted()
    {
        await using var api = new ApiFactory(_kit.Postgres, _kit.Redis.ConnectionString);
        var client = api.Client();
        await LocalProcess.WaitUntilAsync(async () =>
            (await client.CreateLinkAsync(new { url = "https://example.com/hot", code = "bounded-hot" })).StatusCode == HttpStatusCode.Created,
            TimeSpan.FromSeconds(30), "the link to be created");

        const int Redirects = 2000;
        var started = Stopwatch.StartNew();
        var found = 0;
        await Parallel.ForAsync(0, Redirects, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, ct) =>
        {
            using var response = await client.GetAsync("/bounded-hot", ct);
            if (response.StatusCode == HttpStatusCode.Found) Interlocked.Increment(ref found);
        });
        var seconds = started.Elapsed.TotalSeconds;
        Assert.Equal(Redirects, found);
        await LocalProcess.WaitUntilAsync(async () => await ClickStreamReader.ClicksOfAsync(_kit.Db, "bounded-hot") == Redirects,
            TimeSpan.FromSeconds(10), "every click in the stream");

        // One entry per flush (about a second), not one per click.
        var entries = await _kit.Db.StreamLengthAsync(ClickStream.Key);
        Assert.True(entries <= seconds + 3, $"{entries} stream entries for {Redirects} redirects in {seconds:F1} s");

        var aggregator = await RunAsync(WorkerTestKit.FastOptions());
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);
        Assert.Equal(Redirects, await _kit.TotalClicksAsync("bounded-hot"));
        Assert.Equal(entries, await _kit.LedgerRowsAsync());
    }

    [Fact]
    public async Task EntriesTheCapTrimsBeforeTheyAreReadAreCountedAsLostAndTheLagRecovers()
    {
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0", createStream: true);
        await _kit.ProduceBatchesAsync("cap-early", 10, 1);
        var read = await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "before", ">", 100);
        await _kit.Db.StreamAcknowledgeAsync(ClickStream.Key, ClickStream.ConsumerGroup, [.. read.Select(e => e.Id)]);

        // The worker is down while the API keeps appending with its cap (XADD MAXLEN ~).
        const int Cap = 1000, Produced = 3000;
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        for (var i = 0; i < Produced; i++)
        {
            var batch = new ClickBatch(Guid.CreateVersion7(), [(new ClickKey("cap-late", day, null, "curl"), 1)], []);
            await _kit.Db.StreamAddAsync(ClickStream.Key, batch.ToStreamFields(), maxLength: Cap, useApproximateMaxLength: true);
        }
        var left = await _kit.Db.StreamLengthAsync(ClickStream.Key);
        Assert.InRange(left, Cap, Produced - 1);
        var trimmedUnread = 10 + Produced - left - read.Length;

        using var probe = new MeterProbe(_kit.MeterFactory);
        var aggregator = await RunAsync(WorkerTestKit.FastOptions());
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(trimmedUnread, probe.Sum("shortener.clickstream.trimmed_unread"));
        Assert.Equal(left, await _kit.TotalClicksAsync("cap-late"));
        Assert.Equal(0, (await _kit.LagAsync()).Undelivered);
    }

    [Fact]
    public async Task ABatchPostgresRejectsForGoodIsDeadLetteredAfterMaxDeliveriesAndTheOthersAreCounted()
    {
        await using (var trigger = _kit.DataSource.CreateCommand("""
            CREATE FUNCTION reject_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.code = 'poison-pg' THEN RAISE EXCEPTION 'rejected by the test' USING ERRCODE = 'check_violation'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER reject_poison BEFORE INSERT ON link_clicks_daily FOR EACH ROW EXECUTE FUNCTION reject_poison();
            """))
        {
            await trigger.ExecuteNonQueryAsync();
        }
        await _kit.ProduceBatchesAsync("poison-neighbour", 3, 5);
        var poison = (await _kit.ProduceBatchesAsync("poison-pg", 1, 7)).Single();
        await _kit.ProduceBatchesAsync("poison-neighbour", 3, 5);

        using var probe = new MeterProbe(_kit.MeterFactory);
        var aggregator = await RunAsync(WorkerTestKit.FastOptions());
        await LocalProcess.WaitUntilAsync(async () => await _kit.Db.StreamLengthAsync(ClickStream.DeadLetterKey) == 1,
            TimeSpan.FromSeconds(20), "the rejected batch to be dead-lettered");
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        await aggregator.StopAsync(CancellationToken.None);

        var dead = (await _kit.Db.StreamRangeAsync(ClickStream.DeadLetterKey)).Single();
        Assert.Equal("rejected", dead["dead.kind"].ToString());
        Assert.StartsWith("23514", dead["dead.reason"].ToString(), StringComparison.Ordinal);
        Assert.Equal(WorkerTestKit.FastOptions().MaxDeliveries, (int)dead["dead.deliveries"]);
        Assert.True(ClickBatch.TryParse(dead.Values, out var kept, out _) && kept.BatchId == poison.BatchId, "the dead letter keeps the batch");
        Assert.Equal(30, await _kit.TotalClicksAsync("poison-neighbour"));
        Assert.Equal(0, await _kit.TotalClicksAsync("poison-pg"));
        Assert.Equal(1, probe.Sum("shortener.clicks.dead_lettered"));
    }

    [Fact]
    public async Task ConsumersIdleWithNothingPendingAreDeletedFromTheGroup()
    {
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0", createStream: true);
        await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "ghost-idle", ">", 1);
        await _kit.ProduceBatchesAsync("ghost-work", 2, 3);
        // A dead consumer with work in hand: reclaimed first, deleted once it has nothing pending.
        Assert.Equal(2, (await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "ghost-busy", ">", 10)).Length);

        var options = WorkerTestKit.FastOptions("alive");
        options.DeadConsumerIdle = TimeSpan.FromMilliseconds(500);
        var aggregator = await RunAsync(options);
        await LocalProcess.WaitUntilAsync(async () =>
            (await _kit.Db.StreamConsumerInfoAsync(ClickStream.Key, ClickStream.ConsumerGroup)).All(c => c.Name == "alive"),
            TimeSpan.FromSeconds(15), "the dead consumers to be deleted");
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(6, await _kit.TotalClicksAsync("ghost-work"));
        Assert.Equal(["alive"], (await _kit.Db.StreamConsumerInfoAsync(ClickStream.Key, ClickStream.ConsumerGroup)).Select(c => (string)c.Name!));
    }

    [Fact]
    public async Task LagGaugesAreReadInTheBackgroundAndAScrapeNeverWaitsOnRedis()
    {
        var lag = _kit.LagMonitor(new AggregatorOptions { LagRefreshInterval = TimeSpan.FromMilliseconds(100) });
        _ = new WorkerMetrics(_kit.MeterFactory, lag);
        using var probe = new MeterProbe(_kit.MeterFactory);
        await lag.StartAsync(CancellationToken.None);
        await _kit.ProduceBatchesAsync("lag-gauge", 42, 1);
        await LocalProcess.WaitUntilAsync(() =>
        {
            probe.Collect();
            return Task.FromResult(probe.Last("shortener.clickstream.lag") == 42);
        }, TimeSpan.FromSeconds(5), "the background refresh to see 42 entries");

        await _kit.Redis.StopAsync();
        var scrape = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++) probe.Collect();
        scrape.Stop();
        await lag.StopAsync(CancellationToken.None);

        // The last value read, at once: a blocked scrape thread would have waited for Redis's timeouts.
        Assert.Equal(42, probe.Last("shortener.clickstream.lag"));
        Assert.True(scrape.ElapsedMilliseconds < 200, $"20 scrapes took {scrape.ElapsedMilliseconds} ms with Redis down");
    }
}
