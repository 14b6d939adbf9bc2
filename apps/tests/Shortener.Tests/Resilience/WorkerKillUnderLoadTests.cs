using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Shortener.Contracts;
using Shortener.Tests.Api;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Shortener.Tests.Resilience.ResilienceKit;
using static Shortener.Tests.Infrastructure.Metrics;

namespace Shortener.Tests.Resilience;

/// <summary>
/// End to end under load: redirects through the API process, clicks through the stream, the worker process
/// SIGKILLed twice and restarted. Every 302 is counted exactly once in the stats.
/// </summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Resilience")]
public sealed class WorkerKillUnderLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EveryRedirectIsCountedExactlyOnceThroughTwoWorkerKills()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("workerkill");
        await using var redis = await RedisServer.StartAsync();
        await using var api = await StartApiAsync(ApiEnvironment(database, redis.ConnectionString, new Dictionary<string, string>
        {
            ["Clicks__MaxKeys"] = "1000000",
            // Flushes every 10 ms, one key per entry: a steady flow of entries, so a kill finds some undelivered or pending.
            ["Clicks__FlushInterval"] = "00:00:00.010",
            ["Clicks__BatchSize"] = "1",
        }));
        var workerEnvironment = new Dictionary<string, string>
        {
            ["ConnectionStrings__postgres"] = database,
            ["ConnectionStrings__redis"] = redis.ConnectionString,
            ["Aggregator__BatchSize"] = "500",
            // A killed worker's pending entries are reclaimed by the next one after a second.
            ["Aggregator__ClaimMinIdle"] = "00:00:01",
            ["Aggregator__MaintenanceInterval"] = "00:00:00.200",
            ["Aggregator__RetryDelay"] = "00:00:00.200",
            ["Shutdown__DrainDelay"] = "00:00:00",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        var codes = await SeedLinksAsync(database, "kill", 4);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var stream = connection.GetDatabase();

        await using var load = new LoadGenerator(api.BaseAddress);
        var worker = await ServiceProcess.StartAsync("Shortener.Worker", workerEnvironment);
        try
        {
            load.Add("redirect", 4, n => Redirect(codes[n % codes.Length]));
            var kills = new List<string>();
            var killsWithWorkLeft = 0;
            for (var kill = 0; kill < 2; kill++)
            {
                await Task.Delay(TimeSpan.FromSeconds(3));
                worker.Signal(LocalProcess.SigKill);
                await worker.WaitForExitAsync(TimeSpan.FromSeconds(10));
                var at = load.Now;
                await worker.DisposeAsync();
                // What the dead worker left: delivered but unacknowledged, and not delivered yet.
                var pending = (await stream.StreamPendingAsync(ClickStream.Key, ClickStream.ConsumerGroup)).PendingMessageCount;
                var groups = await stream.StreamGroupInfoAsync(ClickStream.Key);
                var undelivered = groups.Single().Lag ?? 0;
                if (pending + undelivered > 0) killsWithWorkLeft++;
                kills.Add($"SIGKILL at {Seconds(at)}: {pending} pending, {undelivered} undelivered");
                worker = await ServiceProcess.StartAsync("Shortener.Worker", workerEnvironment);
                kills[^1] += $"; restarted at {Seconds(load.Now)}";
            }
            await Task.Delay(TimeSpan.FromSeconds(3));
            await load.StopAsync();
            var loadStopped = load.Now;

            // The API's buffer flushed to the stream, then the worker caught up.
            using var client = AuthenticatedClient(api);
            await LocalProcess.WaitUntilAsync(async () =>
                await MetricAsync(client, "shortener_clicks_published_total") >= await MetricAsync(client, "shortener_clicks_enqueued_total"),
                TimeSpan.FromSeconds(10), "the API to publish every buffered click");
            using var workerClient = worker.Client();
            JsonElement lag = default;
            await LocalProcess.WaitUntilAsync(async () =>
            {
                lag = await workerClient.GetFromJsonAsync<JsonElement>("/lag");
                return lag.GetProperty("pending").GetInt64() == 0 && lag.GetProperty("undelivered").GetInt64() == 0;
            }, TimeSpan.FromSeconds(20), "the worker's lag to reach 0");
            var drained = load.Now;

            var samples = load.Samples;
            output.WriteLine(string.Join("\n", kills));
            output.WriteLine($"Load stopped at {Seconds(loadStopped)}, lag 0 at {Seconds(drained)}: {lag}");
            output.WriteLine(LoadGenerator.Summary(samples));
            AssertNone(samples, s => s.Failed || s.Status != 302, "redirects did not get a 302");
            // A kill after the stream was drained would prove nothing.
            Assert.True(killsWithWorkLeft > 0, "every kill found the stream drained");
            Assert.Equal(0d, await MetricAsync(client, "shortener_clicks_dropped_total"));
            Assert.Equal(0, lag.GetProperty("deadLettered").GetInt64());

            long counted = 0;
            foreach (var code in codes)
            {
                var stats = await (await client.GetAsync($"/api/links/{code}/stats")).ReadJsonAsync();
                var total = stats.GetProperty("totalClicks").GetInt64();
                var answered = samples.Count(s => s.Path == "/" + code && s.Status == 302);
                output.WriteLine($"{code}: {answered} redirects answered 302, {total} clicks counted");
                Assert.Equal(answered, total);
                // The breakdowns are written by the same statement as the daily counts: through the kills they add up too
                // (the window's days hold every click of this run, and these clicks carry no Referer: one item each).
                Assert.Equal(total, stats.GetProperty("byReferrer").EnumerateArray().Sum(item => item.GetProperty("clicks").GetInt64()));
                Assert.Equal(total, stats.GetProperty("byBrowser").EnumerateArray().Sum(item => item.GetProperty("clicks").GetInt64()));
                counted += total;
            }
            await using var ledger = new NpgsqlConnection(database);
            await ledger.OpenAsync();
            // The ledger holds one row per stream entry (a flushed batch), however many clicks it carried and however often it was delivered.
            await using var batches = new NpgsqlCommand("SELECT count(*) FROM processed_click_batches", ledger);
            var rows = (long)(await batches.ExecuteScalarAsync())!;
            var entries = (await stream.StreamInfoAsync(ClickStream.Key)).EntriesAdded;
            output.WriteLine($"{counted} clicks counted from {entries} stream entries, {rows} ledger rows");
            Assert.Equal(entries, rows);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }
}
