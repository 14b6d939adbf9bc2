extern alias worker;

using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Shortener.Api.Clicks;
using Shortener.Contracts;
using Shortener.Tests.Api;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Worker;

/// <summary>
/// The idempotency ledger remembers a batch id as long as the batch can be delivered again, and no longer (ADR 0010).
/// Two things deliver a batch again: its stream entry, while it is in the stream (pending after a crash, or unread while
/// the workers were down), and an API's retry of a write that did reach Redis, which the API bounds with
/// Clicks:UncertainWriteRetryLimit. So the worker keeps ids for Aggregator:LedgerRetention past the oldest entry still
/// that can still be delivered, and the API gives up a batch after its limit only when a write may have landed.
/// </summary>
public sealed class LedgerRetentionTests : IAsyncLifetime
{
    private WorkerTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await WorkerTestKit.CreateAsync(nameof(LedgerRetentionTests));

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task ABatchPendingSinceLongBeforeTheRetentionIsNotCountedTwiceAndItsIdIsForgottenOnceItIsGone()
    {
        // An hour ago: three batches were added, read and counted by a worker that died before acknowledging them.
        var anHourAgo = DateTimeOffset.UtcNow.AddHours(-1);
        await _kit.Db.StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0", createStream: true);
        var day = DateOnly.FromDateTime(DateTime.UtcNow);
        var batches = Enumerable.Range(0, 3)
            .Select(_ => new ClickBatch(Guid.CreateVersion7(), [(new ClickKey("long-pending", day, null, "curl"), 4)], []))
            .ToList();
        for (var i = 0; i < batches.Count; i++)
        {
            await _kit.Db.StreamAddAsync(ClickStream.Key, batches[i].ToStreamFields(), messageId: $"{anHourAgo.ToUnixTimeMilliseconds()}-{i}");
        }
        Assert.Equal(3, (await _kit.Db.StreamReadGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "died", ">", 10)).Length);
        Assert.Equal(12, await new ClickLedger(_kit.DataSource).AggregateAsync(batches, CancellationToken.None));
        await using (var backdate = _kit.DataSource.CreateCommand("UPDATE processed_click_batches SET processed_at = @at"))
        {
            backdate.Parameters.AddWithValue("at", anHourAgo.AddSeconds(1));
            await backdate.ExecuteNonQueryAsync();
        }

        // A worker comes back with a retention far shorter than the outage. Its first maintenance pass prunes before the
        // entries have been idle long enough to be reclaimed: a retention counted from now forgot the ids, and the
        // reclaimed entries were then counted a second time.
        var options = WorkerTestKit.FastOptions();
        options.ClaimMinIdle = TimeSpan.FromSeconds(2);
        options.LedgerRetention = TimeSpan.FromMinutes(5);
        options.LedgerPruneInterval = TimeSpan.FromMilliseconds(100);
        var aggregator = _kit.Aggregator(options);
        await aggregator.StartAsync(CancellationToken.None);
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(12, await _kit.TotalClicksAsync("long-pending"));
        // Counted and acknowledged: no read delivers them again, and their ids, an hour old, go.
        await LocalProcess.WaitUntilAsync(async () => await _kit.LedgerRowsAsync() == 0, TimeSpan.FromSeconds(10), "the ledger to forget the batches");
        await aggregator.StopAsync(CancellationToken.None);
        Assert.Equal(12, await _kit.TotalClicksAsync("long-pending"));
    }

    [Fact]
    public async Task RecentBatchIdsAreKeptForTheRetentionAndOlderOnesDeletedWhenTheStreamIsEmpty()
    {
        await using (var insert = _kit.DataSource.CreateCommand("""
            INSERT INTO processed_click_batches (batch_id, processed_at)
            SELECT gen_random_uuid(), now() - make_interval(mins => m) FROM unnest(ARRAY[1, 4, 6, 60]) AS m
            """))
        {
            await insert.ExecuteNonQueryAsync();
        }
        var ledger = new ClickLedger(_kit.DataSource);

        Assert.Equal(2, await ledger.PruneAsync(TimeSpan.FromMinutes(5), oldestDeliverable: null, CancellationToken.None));
        Assert.Equal(2, await _kit.LedgerRowsAsync());
        // An entry added 30 minutes ago that can still be delivered protects everything processed since 35 minutes ago.
        Assert.Equal(0, await ledger.PruneAsync(TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddMinutes(-30), CancellationToken.None));
        Assert.Equal(2, await ledger.PruneAsync(TimeSpan.FromSeconds(30), oldestDeliverable: null, CancellationToken.None));
    }

    [Fact]
    public async Task AWriteThatMayHaveLandedIsRetriedUpToItsLimitThenGivenUpAndItsLandedCopiesAreCountedOnce()
    {
        // Answers from Redis held back: every XADD lands, and the API sees a timeout after sending it.
        await using var proxy = new DelayProxy(_kit.Redis.Port) { DelayRequests = false };
        await using var api = new ApiFactory(_kit.Postgres, $"127.0.0.1:{proxy.Port}", RetrySettings(limit: "00:00:03"));
        var client = api.Client();
        await ClickedOnceAsync(client, "uncertain");
        using var probe = Probe(api);

        proxy.Delay = TimeSpan.FromMinutes(5);
        const int Redirects = 20;
        for (var i = 0; i < Redirects; i++) Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/uncertain")).StatusCode);
        long givenUp = 0;
        await LocalProcess.WaitUntilAsync(() => Task.FromResult((givenUp = Dropped(probe, "write_uncertain")) > 0),
            TimeSpan.FromSeconds(20), "a batch to be given up after its limit");

        // Each try of it landed: the same batch id several times in the stream, carrying the clicks given up.
        var copies = (await ClickStreamReader.BatchesAsync(_kit.Db)).GroupBy(b => b.BatchId).Where(g => g.Count() >= 2).ToList();
        var landed = Assert.Single(copies);
        Assert.Equal(givenUp, landed.First().TotalClicks);
        Assert.Equal(0, Dropped(probe, "buffer_full"));

        // Answers flow again. A flush that came after the connection was given up never left the API: it is retried
        // past the limit and arrives now. The worker counts every click once, the given-up batch's copies included.
        proxy.Delay = TimeSpan.Zero;
        var aggregator = _kit.Aggregator(WorkerTestKit.FastOptions());
        await aggregator.StartAsync(CancellationToken.None);
        await LocalProcess.WaitUntilAsync(async () => await _kit.TotalClicksAsync("uncertain") >= 1 + Redirects,
            TimeSpan.FromSeconds(30), "every click to be counted");
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(15));
        await aggregator.StopAsync(CancellationToken.None);
        Assert.Equal(1 + Redirects, await _kit.TotalClicksAsync("uncertain"));
        Assert.Equal(givenUp, Dropped(probe, "write_uncertain"));
    }

    [Fact]
    public async Task AWriteThatNeverLeftTheApiIsRetriedPastTheLimitUntilRedisIsBack()
    {
        await using var api = new ApiFactory(_kit.Postgres, _kit.Redis.ConnectionString, RetrySettings(limit: "00:00:01"));
        var client = api.Client();
        await ClickedOnceAsync(client, "unreachable");
        using var probe = Probe(api);

        // Redis is down for four times the limit: every write fails before it is sent.
        await _kit.Redis.StopAsync();
        const int Redirects = 20;
        for (var i = 0; i < Redirects; i++) Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/unreachable")).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(4));
        await _kit.Redis.StartProcessAsync();

        // A restarted Redis has an empty stream: the retried batch is all that arrives.
        await LocalProcess.WaitUntilAsync(async () => await ClickStreamReader.ClicksOfAsync(_kit.Db, "unreachable") == Redirects,
            TimeSpan.FromSeconds(15), "the retried batch to reach the stream");
        Assert.Equal((0, 0, 0), (Dropped(probe, "buffer_full"), Dropped(probe, "write_uncertain"), Dropped(probe, "shutdown")));
    }

    private static Dictionary<string, string?> RetrySettings(string limit) => new()
    {
        ["Clicks:UncertainWriteRetryLimit"] = limit,
        ["Clicks:RetryDelay"] = "00:00:00.2",
    };

    // This host's own instruments: /metrics can show another test's host, its OpenTelemetry provider subscribing to
    // every "Shortener.Api" meter in the process (a flaky read of 0 here while tests ran in parallel).
    private static MeterProbe Probe(ApiFactory api) => new(api.Services.GetRequiredService<IMeterFactory>());

    private static long Dropped(MeterProbe probe, string reason)
    {
        probe.Collect();
        return probe.Last("shortener.clicks.dropped", "reason", reason);
    }

    /// <summary>Creates the link and redirects once: the link is in the API's memory tier, its click in the stream.</summary>
    private async Task ClickedOnceAsync(HttpClient client, string code)
    {
        await LocalProcess.WaitUntilAsync(async () =>
            (await client.CreateLinkAsync(new { url = "https://example.com/" + code, code })).StatusCode == HttpStatusCode.Created,
            TimeSpan.FromSeconds(30), "the link to be created");
        Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/" + code)).StatusCode);
        await LocalProcess.WaitUntilAsync(async () => await ClickStreamReader.ClicksOfAsync(_kit.Db, code) == 1,
            TimeSpan.FromSeconds(10), "the first click in the stream");
    }

    [Theory]
    [InlineData(CommandStatus.WaitingToBeSent, false)]
    [InlineData(CommandStatus.WaitingInBacklog, false)]
    [InlineData(CommandStatus.Sent, true)]
    [InlineData(CommandStatus.Unknown, true)]
    public void WhetherAFailedWriteMayHaveLandedFollowsHowFarTheCommandGot(CommandStatus status, bool mayHaveLanded)
    {
        Assert.Equal(mayHaveLanded, ClickPublisher.MayHaveReachedRedis(new RedisTimeoutException(CommandFlags.None, "timeout", status)));
        Assert.Equal(mayHaveLanded, ClickPublisher.MayHaveReachedRedis(
            new RedisConnectionException(ConnectionFailureType.SocketClosed, CommandFlags.None, "closed", null, status)));
        // An error reply: Redis answered, and did not apply it.
        Assert.False(ClickPublisher.MayHaveReachedRedis(new RedisServerException(default, CommandFlags.None, "OOM command not allowed")));
        Assert.True(ClickPublisher.MayHaveReachedRedis(new TimeoutException()));
    }
}
