using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Shortener.Api.Links;
using StackExchange.Redis;

namespace Shortener.Api.Redirects;

/// <summary>
/// The redirect lookup, three tiers deep: in-process memory (short TTL), Redis (shared by replicas),
/// then PostgreSQL. Unknown codes are cached too. A Redis failure is never fatal: the lookup falls
/// through to PostgreSQL and the redirect still succeeds.
/// </summary>
public sealed partial class LinkCache(
    IConnectionMultiplexer redis,
    LinkStore store,
    IOptions<CacheOptions> options,
    ApiMetrics metrics,
    ILogger<LinkCache> logger) : IDisposable
{
    // Its own bounded cache: a flood of distinct codes evicts old entries instead of growing memory.
    private readonly MemoryCache memory = new(new MemoryCacheOptions { SizeLimit = options.Value.LocalSizeLimit });

    public const string InvalidationChannel = "links:invalidated";
    private static readonly ActivitySource s_activity = new("Shortener.Api.Cache");

    /// <summary>Invalidations that could not reach Redis; retried by <see cref="LinkInvalidationListener"/>.</summary>
    private readonly ConcurrentQueue<string> _pendingInvalidations = new();

    public static string RedisKey(string code) => "link:" + code;

    public async ValueTask<(LinkTarget Target, CacheTier Tier)> GetAsync(string code, CancellationToken ct)
    {
        var settings = options.Value;
        if (!settings.Enabled) return (await store.FindTargetAsync(code, ct), CacheTier.Database);
        if (memory.TryGetValue(code, out LinkTarget? local) && local is not null) return (local, CacheTier.Memory);

        using var activity = s_activity.StartActivity("link-cache lookup");
        activity?.SetTag("shortener.code", code);

        var key = RedisKey(code);
        var database = redis.GetDatabase();
        try
        {
            if (LinkTarget.FromCacheValue(await database.StringGetAsync(key)) is { } shared)
            {
                activity?.SetTag("shortener.cache.tier", "redis");
                Remember(code, shared, settings);
                return (shared, CacheTier.Redis);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisFailure("cache-read");
            LogRedisReadFailed(logger, ex);
        }

        activity?.SetTag("shortener.cache.tier", "postgresql");
        var target = await store.FindTargetAsync(code, ct);
        Remember(code, target, settings);
        // Fire-and-forget: populating the shared tier never delays the redirect, and fails silently when Redis is down.
        database.StringSet(key, target.ToCacheValue(), target.Exists ? settings.RedisTtl : settings.NegativeTtl, flags: CommandFlags.FireAndForget);
        return (target, CacheTier.Database);
    }

    /// <summary>Forgets a code in this replica, in Redis, and (by pub/sub) in every other replica.</summary>
    public async Task InvalidateAsync(string code)
    {
        memory.Remove(code);
        if (!await TryInvalidateSharedAsync(code)) _pendingInvalidations.Enqueue(code);
    }

    internal void ForgetLocally(string code) => memory.Remove(code);

    internal async Task RetryPendingInvalidationsAsync()
    {
        var count = _pendingInvalidations.Count;
        for (var i = 0; i < count && _pendingInvalidations.TryDequeue(out var code); i++)
        {
            if (!await TryInvalidateSharedAsync(code))
            {
                _pendingInvalidations.Enqueue(code);
                return;
            }
        }
    }

    private async Task<bool> TryInvalidateSharedAsync(string code)
    {
        try
        {
            var database = redis.GetDatabase();
            await database.KeyDeleteAsync(RedisKey(code));
            await database.PublishAsync(RedisChannel.Literal(InvalidationChannel), code);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisFailure("cache-invalidate");
            return false;
        }
    }

    public void Dispose() => memory.Dispose();

    private void Remember(string code, LinkTarget target, CacheOptions settings) =>
        memory.Set(code, target, new MemoryCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = target.Exists ? settings.LocalTtl : settings.NegativeTtl,
            Size = 1,
        });

    [LoggerMessage(EventId = 10, EventName = "RedisCacheReadFailed", Level = LogLevel.Debug,
        Message = "Redis cache read failed; reading PostgreSQL")]
    private static partial void LogRedisReadFailed(ILogger logger, Exception error);
}

public enum CacheTier { Memory, Redis, Database }
