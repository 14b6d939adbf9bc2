using System.Diagnostics;
using Npgsql;
using Shortener.Api.Auth;
using Shortener.Tests.Infrastructure;
using Xunit.Abstractions;
using static Shortener.Tests.Resilience.ResilienceKit;

namespace Shortener.Tests.Resilience;

/// <summary>
/// PostgreSQL slow rather than gone, with a small pool: requests must queue boundedly and be shed with 503 +
/// Retry-After within the configured timeouts, the process must stay responsive (/livez), and recover by itself.
/// </summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Resilience")]
public sealed class SlowPostgresUnderLoadTests(ITestOutputHelper output)
{
    private const int PoolSize = 4;
    private const int TimeoutSeconds = 1;          // connect, or wait for a free pooled connection
    private const int CommandTimeoutSeconds = 2;
    private const int CancellationTimeoutMs = 1000; // after a command timeout, wait this long for the server to confirm the cancel

    /// <summary>
    /// One PostgreSQL call waits at most for a pooled connection, then its command, then the cancellation of that
    /// command. A redirect (cache off) makes one call; a write makes one too while its API key is cached. +1 s of slack.
    /// </summary>
    private static readonly TimeSpan LatencyBound =
        TimeSpan.FromSeconds(TimeoutSeconds + CommandTimeoutSeconds + 1) + TimeSpan.FromMilliseconds(CancellationTimeoutMs);

    private static readonly TimeSpan SlowFor = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan LivezBound = TimeSpan.FromSeconds(1);

    private static string ApiConnectionString(string database, int? port = null)
    {
        var settings = new Dictionary<string, object?>
        {
            ["Maximum Pool Size"] = PoolSize,
            ["Timeout"] = TimeoutSeconds,
            ["Command Timeout"] = CommandTimeoutSeconds,
            ["Cancellation Timeout"] = CancellationTimeoutMs,
        };
        if (port is { } p) settings["Port"] = p;
        return WithSettings(database, settings);
    }

    private static Task<ServiceProcess> StartApiWithoutCacheAsync(string apiDatabase, RedisServer redis) =>
        StartApiAsync(ApiEnvironment(apiDatabase, redis.ConnectionString, new Dictionary<string, string>
        {
            // Every redirect reads PostgreSQL.
            ["Cache__Enabled"] = "false",
        }));

    /// <summary>
    /// Redirects arrive at a steady rate whatever the answers take (open loop), far above what a slow PostgreSQL
    /// can serve: without bounded waits the requests would pile up for as long as it stays slow.
    /// </summary>
    private const double RedirectsPerSecond = 100;

    private static LoadGenerator StartLoad(ServiceProcess api, string[] codes)
    {
        var load = new LoadGenerator(api.BaseAddress);
        load.AddPaced("redirect", RedirectsPerSecond, n => Redirect(codes[n % codes.Length]));
        load.Add("write", 1, CreateLink, pause: TimeSpan.FromMilliseconds(100));
        load.Add("livez", 1, _ => Get("/livez"), pause: TimeSpan.FromMilliseconds(100));
        return load;
    }

    private void AssertBoundedAndRecovered(IReadOnlyList<Sample> samples, TimeSpan slowFrom, TimeSpan slowUntil, TimeSpan keyCachedAt)
    {
        var redirects = samples.Where(s => s.Kind == "redirect").ToList();
        var livez = samples.Where(s => s.Kind == "livez").ToList();
        var slow = samples.Where(s => s.Kind != "livez" && s.StartedIn(slowFrom, slowUntil)).ToList();
        var firstBack = redirects.Where(s => s.Start >= slowUntil && s.Status == 302).MinBy(s => s.End);

        output.WriteLine($"Slow from {Seconds(slowFrom)} to {Seconds(slowUntil)}; latency bound {LatencyBound.TotalMilliseconds} ms");
        output.WriteLine("Whole run:\n" + LoadGenerator.Summary(samples));
        output.WriteLine("Requests started while PostgreSQL was slow:\n" + LoadGenerator.Summary(slow));
        output.WriteLine($"Redirects back: first 302 {(firstBack is null ? "never" : (firstBack.End - slowUntil).TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms")} after PostgreSQL was fast again");

        // The writes' bound assumes their API key was still cached: a lookup would be a second call that can wait.
        Assert.True(slowUntil + LatencyBound - keyCachedAt < new AuthOptions().KeyCacheTtl, "the test ran too long for the API key cache to cover it");

        AssertNone(samples, s => s.Failed, "requests got no HTTP response");
        AssertNone(samples, s => s.Status >= 500 && s.Status != 503, "responses were 5xx other than 503");
        AssertNone(samples, s => s.Latency > LatencyBound, $"requests took longer than {LatencyBound.TotalMilliseconds} ms");
        foreach (var shed in samples.Where(s => s.Status == 503)) AssertServiceUnavailableProblem(shed);
        AssertNone(samples, s => s.Status is not (302 or 201 or 200 or 503), "responses were neither a success nor a 503");
        // The slowness must have bitten, or this test shows nothing.
        Assert.Contains(slow, s => s.Kind == "redirect" && s.Status == 503);

        // No thread-pool starvation: the process answers /livez at once all along.
        AssertNone(livez, s => s.Status != 200 || s.Latency >= LivezBound, $"/livez answers were not 200 within {LivezBound.TotalMilliseconds} ms");
        var span = samples.Max(s => s.End) - samples.Min(s => s.Start);
        Assert.True(livez.Count >= span.TotalSeconds * 5, $"only {livez.Count} /livez answers in {Seconds(span)} (one per 100 ms expected)");

        Assert.True(firstBack is not null && firstBack.End - slowUntil <= TimeSpan.FromSeconds(5), "redirects did not succeed again within 5 s");
        AssertNone(redirects, s => s.Start >= slowUntil + TimeSpan.FromSeconds(5) && s.Status != 302, "redirects failed more than 5 s after PostgreSQL was fast again");
        Assert.Contains(redirects, s => s.Start >= slowUntil + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ALockedLinksTableIsShedWith503WithinTheTimeoutsAndLivezStaysFast()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("slowlock");
        await using var redis = await RedisServer.StartAsync();
        var codes = await SeedLinksAsync(database, "slow", 20_000);
        await using var api = await StartApiWithoutCacheAsync(ApiConnectionString(database), redis);
        // StartApiAsync authenticated with the bootstrap key just now: the API caches it for ApiKeyStore.CacheFor.
        var sinceKeyCached = Stopwatch.StartNew();
        await using var load = StartLoad(api, codes);
        var keyCachedAt = load.Now - sinceKeyCached.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Every query on links now waits for this transaction: slow PostgreSQL, holding the pool's connections.
        await using var locker = new NpgsqlConnection(database);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE links IN ACCESS EXCLUSIVE MODE", locker, transaction))
        {
            await lockTable.ExecuteNonQueryAsync();
        }
        var locked = load.Now;
        await Task.Delay(SlowFor);
        await transaction.RollbackAsync();
        var released = load.Now;
        await Task.Delay(TimeSpan.FromSeconds(6));
        await load.StopAsync();

        AssertBoundedAndRecovered(load.Samples, locked, released, keyCachedAt);
    }

    [Fact]
    public async Task NetworkLatencyToPostgresIsQueuedBoundedlyAndShedWith503()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("slownet");
        await using var redis = await RedisServer.StartAsync();
        await using var proxy = new DelayProxy(new NpgsqlConnectionStringBuilder(database).Port);
        // Once every round trip costs 400 ms, the 4 pooled connections serve 10 queries a second, a tenth of the
        // redirects offered: the wait for a pooled connection exceeds Timeout for the rest, which get 503.
        var codes = await SeedLinksAsync(database, "slow", 20_000);
        await using var api = await StartApiWithoutCacheAsync(ApiConnectionString(database, proxy.Port), redis);
        var sinceKeyCached = Stopwatch.StartNew();
        await using var load = StartLoad(api, codes);
        var keyCachedAt = load.Now - sinceKeyCached.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(2));

        proxy.Delay = TimeSpan.FromMilliseconds(200);
        var slowed = load.Now;
        await Task.Delay(SlowFor);
        proxy.Delay = TimeSpan.Zero;
        var fast = load.Now;
        await Task.Delay(TimeSpan.FromSeconds(6));
        await load.StopAsync();

        var samples = load.Samples;
        var slowRedirects = samples.Where(s => s.Kind == "redirect" && s.StartedIn(slowed + TimeSpan.FromSeconds(1), fast)).ToList();
        output.WriteLine($"Redirects while slow: {slowRedirects.Count(s => s.Status == 302)} served, {slowRedirects.Count(s => s.Status == 503)} shed");
        AssertBoundedAndRecovered(samples, slowed, fast, keyCachedAt);
        // Queued, not refused outright: the pool kept serving at its (slow) pace.
        Assert.Contains(slowRedirects, s => s.Status == 302);
    }
}
