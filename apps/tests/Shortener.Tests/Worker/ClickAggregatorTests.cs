extern alias worker;

using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Worker;

public sealed class ClickAggregatorTests : IAsyncLifetime
{
    private WorkerTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await WorkerTestKit.CreateAsync(nameof(ClickAggregatorTests));

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    private async Task<ClickAggregator> RunAsync(AggregatorOptions? options = null)
    {
        var aggregator = _kit.Aggregator(options ?? WorkerTestKit.FastOptions());
        await aggregator.StartAsync(CancellationToken.None);
        return aggregator;
    }

    [Fact]
    public async Task ClicksAreCountedPerCodeAndUtcDayAndAcknowledged()
    {
        var yesterday = DateTimeOffset.UtcNow.AddDays(-1);
        await _kit.ProduceAsync("count-a", 250);
        await _kit.ProduceAsync("count-a", 40, yesterday);
        await _kit.ProduceAsync("count-b", 7);

        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(290, await _kit.TotalClicksAsync("count-a"));
        Assert.Equal(7, await _kit.TotalClicksAsync("count-b"));
        await using var command = _kit.DataSource.CreateCommand("SELECT clicks FROM link_clicks_daily WHERE code = 'count-a' AND day = @day");
        command.Parameters.AddWithValue("day", DateOnly.FromDateTime(yesterday.UtcDateTime));
        Assert.Equal(40L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task AnEventDeliveredTwiceIsCountedOnce()
    {
        var click = WorkerTestKit.Click("dup-code");
        await _kit.Db.StreamAddAsync(ClickStream.Key, click.ToStreamFields());
        await _kit.Db.StreamAddAsync(ClickStream.Key, click.ToStreamFields());
        await _kit.ProduceAsync("dup-code", 3);

        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        // And once more, in a later batch.
        await _kit.Db.StreamAddAsync(ClickStream.Key, click.ToStreamFields());
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(4, await _kit.TotalClicksAsync("dup-code"));
    }

    [Fact]
    public async Task ACrashAfterCommitButBeforeAckNeitherLosesNorDoublesClicks()
    {
        await _kit.ProduceAsync("crash-code", 100);
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0");
        // A consumer reads and commits the batch, then dies before XACK.
        var entries = await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "crashed", ">", 1000);
        var clicks = entries.Select(e => ClickBatch.TryParse(e.Values, out var c, out _) ? c : throw new InvalidOperationException()).ToArray();
        Assert.Equal(100, await new ClickLedger(_kit.DataSource).AggregateAsync(clicks, CancellationToken.None));
        Assert.Equal(100, (await _kit.LagAsync()).Pending);

        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(100, await _kit.TotalClicksAsync("crash-code"));
        await _kit.AssertBreakdownMatchesDailyAsync();
    }

    [Fact]
    public async Task TheBreakdownBySourceIsCountedOnceThroughRedeliveryAndSumsToTheDailyCount()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var yesterday = today.AddDays(-1);
        ClickBatch Batch(params (DateOnly Day, string? Referrer, string Family, long Clicks)[] counts) => new(Guid.CreateVersion7(),
            [.. counts.Select(c => (new ClickKey("src-code", c.Day, c.Referrer, c.Family), c.Clicks))], []);
        ClickBatch[] batches =
        [
            Batch((today, "news.example.org", "chrome", 5), (today, null, "firefox", 2), (yesterday, "news.example.org", "chrome", 4)),
            Batch((today, "news.example.org", "chrome", 1), (today, "blog.example.net", "safari", 3), (today, null, "none", 7)),
            Batch((yesterday, null, "firefox", 6)),
        ];
        foreach (var batch in batches) await _kit.Db.StreamAddAsync(ClickStream.Key, batch.ToStreamFields());
        // An entry in the per-click format of an older API counts as a batch of one.
        var click = WorkerTestKit.Click("src-code");
        await _kit.Db.StreamAddAsync(ClickStream.Key, click.ToStreamFields());

        // A consumer reads everything and commits it, then dies before XACK: every entry is delivered again.
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0");
        var entries = await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "crashed", ">", 1000);
        var parsed = entries.Select(e => ClickBatch.TryParse(e.Values, out var b, out _) ? b : throw new InvalidOperationException()).ToArray();
        Assert.Equal(29, await new ClickLedger(_kit.DataSource).AggregateAsync(parsed, CancellationToken.None));
        // And the same batches appended again (a publish retried after a timeout that had landed).
        foreach (var batch in batches) await _kit.Db.StreamAddAsync(ClickStream.Key, batch.ToStreamFields());

        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(29, await _kit.TotalClicksAsync("src-code"));
        Assert.Equal(new Dictionary<(string, string), long>
        {
            [("news.example.org", "chrome")] = 6,
            [("", "firefox")] = 2,
            [("blog.example.net", "safari")] = 3,
            [("", "none")] = 7,
            [("example.org", "firefox")] = 1,
        }, await _kit.BySourceAsync("src-code", today));
        Assert.Equal(new Dictionary<(string, string), long>
        {
            [("news.example.org", "chrome")] = 4,
            [("", "firefox")] = 6,
        }, await _kit.BySourceAsync("src-code", yesterday));
        Assert.Equal(2, await _kit.AssertBreakdownMatchesDailyAsync());
    }

    [Fact]
    public async Task TwoWorkersCountingTheSameBatchesAtOnceCountThemOnceWithoutDeadlock()
    {
        // A reclaim can hand a slow worker's entries to another while the first is still counting them: both ledgers
        // see the same batch ids, read in different orders, in concurrent transactions. One of them counts each batch;
        // neither fails (a deadlock, 40P01, would if the batch ids were not locked in one order).
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        ClickBatch Batch(params (string Code, string? Referrer, long Clicks)[] counts) =>
            new(Guid.CreateVersion7(), [.. counts.Select(c => (new ClickKey(c.Code, day, c.Referrer, "firefox"), c.Clicks))], []);
        var first = new ClickLedger(_kit.DataSource);
        var second = new ClickLedger(_kit.DataSource);
        const int Rounds = 40;
        long counted = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var x = Batch(("race-a", "example.org", 3), ("race-b", null, 1));
            var y = Batch(("race-a", "example.org", 2), ("race-a", "news.example", 5));
            var z = Batch(("race-b", null, 4));
            var results = await Task.WhenAll(first.AggregateAsync([x, y, z], CancellationToken.None), second.AggregateAsync([z, y, x], CancellationToken.None));
            Assert.Contains(15, results);
            counted += results.Sum();
        }

        Assert.Equal(15L * Rounds, counted);
        Assert.Equal(10L * Rounds, await _kit.TotalClicksAsync("race-a"));
        Assert.Equal(5L * Rounds, await _kit.TotalClicksAsync("race-b"));
        var bySource = await _kit.BySourceAsync("race-a", day);
        Assert.Equal(5L * Rounds, bySource[("example.org", "firefox")]);
        Assert.Equal(5L * Rounds, bySource[("news.example", "firefox")]);
        await _kit.AssertBreakdownMatchesDailyAsync();
    }

    [Fact]
    public async Task EntriesPendingOnADeadConsumerAreReclaimedAndCounted()
    {
        await _kit.ProduceAsync("reclaim-code", 60);
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0");
        await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "dead", ">", 1000);

        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);

        Assert.Equal(60, await _kit.TotalClicksAsync("reclaim-code"));
    }

    [Fact]
    public async Task AMalformedEntryMovesToTheDeadLetterStreamAfterMaxDeliveries()
    {
        await _kit.ProduceAsync("poison-neighbour", 5);
        var poison = await _kit.Db.StreamAddAsync(ClickStream.Key, [new NameValueEntry("id", "not-a-guid"), new NameValueEntry("code", "x")]);
        await _kit.ProduceAsync("poison-neighbour", 5);

        var aggregator = await RunAsync();
        await LocalProcess.WaitUntilAsync(async () => await _kit.Db.StreamLengthAsync(ClickStream.DeadLetterKey) == 1,
            TimeSpan.FromSeconds(15), "the poison entry to be dead-lettered");
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        await aggregator.StopAsync(CancellationToken.None);

        var dead = (await _kit.Db.StreamRangeAsync(ClickStream.DeadLetterKey)).Single();
        Assert.Equal(poison.ToString(), dead["dead.original_id"].ToString());
        Assert.Equal("missing or invalid event id", dead["dead.reason"].ToString());
        Assert.True((long)dead["dead.deliveries"] >= 3);
        Assert.Equal(10, await _kit.TotalClicksAsync("poison-neighbour"));
        Assert.Equal(1, (await _kit.LagAsync()).DeadLettered);
    }

    [Fact]
    public async Task TheStreamIsTrimmedBelowWhatWasAcknowledgedOnly()
    {
        await _kit.ProduceAsync("trim-code", 3000);
        var aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(20));
        await LocalProcess.WaitUntilAsync(async () => await _kit.Db.StreamLengthAsync(ClickStream.Key) < 1000,
            TimeSpan.FromSeconds(10), "the stream to be trimmed");
        await aggregator.StopAsync(CancellationToken.None);

        // Produced while no worker runs: trimming must never remove undelivered entries.
        await _kit.ProduceAsync("trim-code", 500);
        var lag = await _kit.LagAsync();
        Assert.Equal(500, lag.Undelivered);

        aggregator = await RunAsync();
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(20));
        await aggregator.StopAsync(CancellationToken.None);
        Assert.Equal(3500, await _kit.TotalClicksAsync("trim-code"));
    }

    [Fact]
    public async Task LagCountsUndeliveredEntriesBeforeAnyWorkerRuns()
    {
        await _kit.ProduceAsync("lag-code", 42);
        var lag = await _kit.LagAsync();
        Assert.Equal(42, lag.Undelivered + lag.Pending);
    }
}
