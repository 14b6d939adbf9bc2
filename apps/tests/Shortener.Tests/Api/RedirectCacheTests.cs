using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Shortener.Api.Redirects;
using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;

namespace Shortener.Tests.Api;

/// <summary>The hot path's caches: shared through Redis, invalidated on every replica, and never required.</summary>
public sealed class RedirectCacheTests : IAsyncLifetime
{
    private string _postgres = "";
    private RedisServer _redis = null!;
    private ApiFactory _replicaA = null!;
    private ApiFactory _replicaB = null!;

    public async Task InitializeAsync()
    {
        _postgres = await SharedPostgres.CreateDatabaseAsync(nameof(RedirectCacheTests));
        _redis = await RedisServer.StartAsync();
        // A long local TTL: only the invalidation message can explain a replica noticing a delete quickly.
        var settings = new Dictionary<string, string?> { ["Cache:LocalTtl"] = "00:10:00", ["Cache:NegativeTtl"] = "00:10:00" };
        _replicaA = new ApiFactory(_postgres, _redis.ConnectionString, settings);
        _replicaB = new ApiFactory(_postgres, _redis.ConnectionString, settings);
        await LocalProcess.WaitUntilAsync(async () => (await _replicaA.Client().GetAsync("/api/links?limit=1")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "the bootstrap key");
        _replicaB.Client();
    }

    public async Task DisposeAsync()
    {
        await _replicaA.DisposeAsync();
        await _replicaB.DisposeAsync();
        await _redis.DisposeAsync();
    }

    private static async Task<string> CreateAsync(HttpClient client, string? code = null)
    {
        var link = await (await client.CreateLinkAsync(new { url = "https://example.com/target", code })).ReadJsonAsync();
        return link.GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task ADeleteOnOneReplicaReachesTheOtherReplicasCache()
    {
        var a = _replicaA.Client();
        var b = _replicaB.Client();
        var code = await CreateAsync(a);
        Assert.Equal(HttpStatusCode.Found, (await b.GetAsync("/" + code)).StatusCode); // now in B's memory tier

        Assert.Equal(HttpStatusCode.NoContent, (await a.DeleteAsync($"/api/links/{code}")).StatusCode);

        await LocalProcess.WaitUntilAsync(async () => (await b.GetAsync("/" + code)).StatusCode == HttpStatusCode.Gone,
            TimeSpan.FromSeconds(5), "replica B to see the delete");
    }

    [Fact]
    public async Task UnknownCodesAreCachedAndACreateClearsThat()
    {
        var a = _replicaA.Client();
        var b = _replicaB.Client();
        var code = "later-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync("/" + code)).StatusCode);
        var db = (await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString)).GetDatabase();
        await LocalProcess.WaitUntilAsync(async () => LinkTarget.FromCacheValue(await db.StringGetAsync(LinkCache.RedisKey(code))) is { Exists: false },
            TimeSpan.FromSeconds(5), "the negative entry in the Redis tier");

        await CreateAsync(a, code);

        await LocalProcess.WaitUntilAsync(async () => (await b.GetAsync("/" + code)).StatusCode == HttpStatusCode.Found,
            TimeSpan.FromSeconds(5), "replica B to forget the negative cache entry");
    }

    [Fact]
    public async Task TheSecondReplicaIsServedFromRedisNotPostgres()
    {
        var code = await CreateAsync(_replicaA.Client());
        await _replicaA.Client().GetAsync("/" + code);
        // Replica A fills the shared tier fire-and-forget, off the request path: wait for it.
        var db = (await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString)).GetDatabase();
        await LocalProcess.WaitUntilAsync(async () => (await db.StringGetAsync(LinkCache.RedisKey(code))).HasValue,
            TimeSpan.FromSeconds(5), "replica A to fill the Redis tier");

        var cache = _replicaB.Services.GetRequiredService<LinkCache>();
        var (target, tier) = await cache.GetAsync(code, CancellationToken.None);
        Assert.Equal(CacheTier.Redis, tier);
        Assert.Equal("https://example.com/target", target.Url);
        Assert.Equal(CacheTier.Memory, (await cache.GetAsync(code, CancellationToken.None)).Tier);
    }

    [Fact]
    public async Task RedirectsKeepWorkingFromPostgresWhileRedisIsDownAndClicksCatchUpAfter()
    {
        var a = _replicaA.Client();
        var codes = new List<string>();
        for (var i = 0; i < 5; i++) codes.Add(await CreateAsync(a));

        await _redis.StopAsync();
        try
        {
            // Replica B has never seen these codes: every lookup must go to PostgreSQL.
            var b = _replicaB.Client();
            foreach (var code in codes)
            {
                var response = await b.GetAsync("/" + code);
                Assert.Equal(HttpStatusCode.Found, response.StatusCode);
            }
            // Still ready (Degraded): taking every replica out of the load balancer would stop redirects that work.
            var ready = await b.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Degraded", await ready.Content.ReadAsStringAsync());
            Assert.Equal(HttpStatusCode.OK, (await b.GetAsync("/livez")).StatusCode);
        }
        finally
        {
            await _redis.StartProcessAsync();
        }

        // The clicks buffered while Redis was down reach the stream once it is back.
        var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        await LocalProcess.WaitUntilAsync(async () =>
        {
            var batches = await ClickStreamReader.BatchesAsync(redis.GetDatabase());
            return codes.All(code => ClickStreamReader.ClicksOf(batches, code) > 0);
        }, TimeSpan.FromSeconds(15), "the buffered clicks to be written to the stream");
        await LocalProcess.WaitUntilAsync(async () => await (await _replicaB.Client().GetAsync("/readyz")).Content.ReadAsStringAsync() == "Healthy",
            TimeSpan.FromSeconds(15), "readiness to recover");
    }

    [Fact]
    public async Task EachRedirectIsCountedInTheStreamWithoutTheClientIp()
    {
        var a = _replicaA.Client();
        var code = await CreateAsync(a);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/" + code);
        request.Headers.Referrer = new Uri("https://news.example.org/some/article?id=1");
        request.Headers.UserAgent.ParseAdd("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36");
        await a.SendAsync(request);

        var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        await LocalProcess.WaitUntilAsync(async () => await ClickStreamReader.ClicksOfAsync(redis.GetDatabase(), code) == 1,
            TimeSpan.FromSeconds(5), "the click in the stream");

        var entries = await redis.GetDatabase().StreamRangeAsync(ClickStream.Key);
        var (key, clicks) = entries.Select(e => ClickBatch.TryParse(e.Values, out var b, out _) ? b : throw new InvalidOperationException())
            .SelectMany(b => b.Counts).Single(c => c.Key.Code == code);
        Assert.Equal(1, clicks);
        Assert.Equal("news.example.org", key.ReferrerHost);
        Assert.Equal("chrome", key.UserAgentFamily);
        Assert.DoesNotContain(entries.SelectMany(e => e.Values), v => v.Value.ToString().Contains("127.0.0.1", StringComparison.Ordinal));
    }
}
