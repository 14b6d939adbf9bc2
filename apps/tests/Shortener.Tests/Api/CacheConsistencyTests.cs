using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Shortener.Api.Redirects;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using static Shortener.Tests.Infrastructure.Metrics;

namespace Shortener.Tests.Api;

/// <summary>
/// The redirect caches stay consistent under races: a deleted link stops redirecting on every replica within seconds
/// even when a cache fill read it just before the delete, a stampede reads PostgreSQL once, unknown codes cannot evict
/// hot links, and a slow Redis does not slow redirects. Local TTLs are 10 minutes here, so only the design can explain
/// a replica noticing a change quickly.
/// </summary>
public sealed class CacheConsistencyTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> s_longTtls = new()
    {
        ["Cache:LocalTtl"] = "00:10:00",
        ["Cache:NegativeTtl"] = "00:10:00",
        ["Cache:RedisTtl"] = "00:10:00",
    };

    private string _postgres = "";
    private RedisServer _redis = null!;
    private DelayProxy _slowPostgres = null!;
    private ApiFactory _slowReplica = null!;   // reads PostgreSQL through a proxy whose delay a test controls
    private ApiFactory _replica = null!;
    private ApiFactory _bystander = null!;     // never written through: it sees only what the others share
    private IDatabase _redisDb = null!;

    public async Task InitializeAsync()
    {
        _postgres = await SharedPostgres.CreateDatabaseAsync(nameof(CacheConsistencyTests));
        _redis = await RedisServer.StartAsync();
        var server = await SharedPostgres.ServerAsync();
        // Answers held, queries not: a read sees the database as it is now and its result arrives later.
        _slowPostgres = new DelayProxy(server.Port) { DelayRequests = false };
        var throughProxy = _postgres.Replace($"Port={server.Port}", $"Port={_slowPostgres.Port}", StringComparison.Ordinal);
        _slowReplica = new ApiFactory(throughProxy, _redis.ConnectionString, s_longTtls);
        _replica = new ApiFactory(_postgres, _redis.ConnectionString, s_longTtls);
        _bystander = new ApiFactory(_postgres, _redis.ConnectionString, s_longTtls);
        foreach (var api in new[] { _slowReplica, _replica, _bystander })
        {
            var client = api.Client();
            await LocalProcess.WaitUntilAsync(async () => (await client.GetAsync("/api/links?limit=1")).IsSuccessStatusCode,
                TimeSpan.FromSeconds(30), "the bootstrap key");
        }
        _redisDb = (await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString)).GetDatabase();
    }

    public async Task DisposeAsync()
    {
        foreach (var api in new[] { _slowReplica, _replica, _bystander }) await api.DisposeAsync();
        await _slowPostgres.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private async Task<string> CreateAsync(string? code = null)
    {
        var response = await _replica.Client().CreateLinkAsync(new { url = "https://example.com/cached", code });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("code").GetString()!;
    }

    private async Task AllReplicasAnswerAsync(string code, HttpStatusCode expected)
    {
        foreach (var api in new[] { _slowReplica, _replica, _bystander })
        {
            var client = api.Client(apiKey: null);
            await LocalProcess.WaitUntilAsync(async () => (await client.GetAsync("/" + code)).StatusCode == expected,
                TimeSpan.FromSeconds(5), $"every replica to answer {(int)expected} for {code}");
        }
    }

    [Fact]
    public async Task ADeleteRacingACacheFillEndsGoneOnEveryReplica()
    {
        var code = await CreateAsync();
        await _redisDb.KeyDeleteAsync(LinkCache.RedisKey(code)); // as after an eviction: the next miss reads PostgreSQL

        _slowPostgres.Delay = TimeSpan.FromSeconds(1.5);
        var fill = _slowReplica.Client(apiKey: null).GetAsync("/" + code);
        await Task.Delay(300); // the slow replica has read the live link; its answer is held by the proxy
        Assert.Equal(HttpStatusCode.NoContent, (await _replica.Client().DeleteAsync($"/api/links/{code}")).StatusCode);
        var raced = await fill;
        _slowPostgres.Delay = TimeSpan.Zero;

        // The race happened: the fill read the link before the delete committed, and wrote it back afterwards.
        Assert.Equal(HttpStatusCode.Found, raced.StatusCode);
        await AllReplicasAnswerAsync(code, HttpStatusCode.Gone);
        var shared = LinkTarget.FromCacheValue(await _redisDb.StringGetAsync(LinkCache.RedisKey(code)));
        Assert.True(shared is { Deleted: true }, $"Redis holds {shared}");
    }

    [Fact]
    public async Task ACreateRacingAFillOfTheUnknownCodeEndsFoundOnEveryReplica()
    {
        var code = "race-" + Guid.NewGuid().ToString("N")[..8];
        _slowPostgres.Delay = TimeSpan.FromSeconds(1.5);
        var fill = _slowReplica.Client(apiKey: null).GetAsync("/" + code);
        await Task.Delay(300); // the slow replica has read "no such code"; its answer is held by the proxy
        await CreateAsync(code);
        var raced = await fill;
        _slowPostgres.Delay = TimeSpan.Zero;

        Assert.Equal(HttpStatusCode.NotFound, raced.StatusCode);
        await AllReplicasAnswerAsync(code, HttpStatusCode.Found);
    }

    [Fact]
    public async Task AThousandConcurrentMissesOfOneCodeShareOneLoad()
    {
        var code = await CreateAsync();
        await _redisDb.KeyDeleteAsync(LinkCache.RedisKey(code));
        var client = _slowReplica.Client(apiKey: null);
        // Loads from either lower tier: the creating replica re-writes the Redis entry itself when its first write
        // timed out (its pending invalidations are retried every second), and then the load is answered by Redis.
        // Either way the thousand misses must share one load.
        // In-process, not /metrics: the exporter caches its scrape response briefly, and these misses can all be
        // answered within that time.
        using var probe = new MeterProbe(_slowReplica.Services.GetRequiredService<IMeterFactory>());

        _slowPostgres.Delay = TimeSpan.FromMilliseconds(300);
        var responses = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => client.GetAsync("/" + code)));
        _slowPostgres.Delay = TimeSpan.Zero;

        Assert.All(responses, response => Assert.Equal(HttpStatusCode.Found, response.StatusCode));
        var loads = probe.Sum("shortener.link_cache.loads");
        Assert.InRange(loads, 1, 3);
    }

    [Fact]
    public async Task AFloodOfUnknownCodesDoesNotEvictAHotLink()
    {
        var small = new Dictionary<string, string?>(s_longTtls) { ["Cache:LocalSizeLimit"] = "1000", ["Cache:NegativeSizeLimit"] = "1000" };
        await using var api = new ApiFactory(_postgres, _redis.ConnectionString, small);
        var cache = api.Services.GetRequiredService<LinkCache>();
        var hot = await CreateAsync();
        await cache.GetAsync(hot, CancellationToken.None);
        Assert.Equal(CacheTier.Memory, (await cache.GetAsync(hot, CancellationToken.None)).Tier);

        var flooded = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 100_000), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var (target, _) = await cache.GetAsync($"flood-{i:x8}", ct);
            Assert.False(target.Exists);
            Interlocked.Increment(ref flooded);
        });

        Assert.Equal(100_000, flooded);
        Assert.Equal(CacheTier.Memory, (await cache.GetAsync(hot, CancellationToken.None)).Tier);
    }

    [Fact]
    public async Task ASlowButConnectedRedisDoesNotDelayRedirects()
    {
        await using var slowRedis = new DelayProxy(_redis.Port);
        var redis = $"127.0.0.1:{slowRedis.Port}";
        await using var api = new ApiFactory(_postgres, redis, s_longTtls);
        var client = api.Client(apiKey: null);
        await LocalProcess.WaitUntilAsync(async () => (await client.GetAsync("/readyz")).IsSuccessStatusCode, TimeSpan.FromSeconds(30), "readiness");
        var code = await CreateAsync();

        slowRedis.Delay = TimeSpan.FromSeconds(2);
        var watch = Stopwatch.StartNew();
        var response = await client.GetAsync("/" + code);
        watch.Stop();
        slowRedis.Delay = TimeSpan.Zero;

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        // A Redis round trip now takes at least 4 s; the soft timeout (100 ms) sends the lookup to PostgreSQL instead.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"the redirect took {watch.Elapsed.TotalMilliseconds:F0} ms");
    }
}
