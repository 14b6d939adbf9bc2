using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Shortener.Api.Links;
using StackExchange.Redis;

namespace Shortener.Api.Redirects;

/// <summary>
/// The redirect lookup, three tiers deep: in-process memory (short TTL), Redis (shared by replicas), then PostgreSQL.
/// <list type="bullet">
/// <item>Every cached state carries the link's version, and no tier replaces a state with an older one: a fill that read
/// PostgreSQL before a delete committed cannot put the deleted link back (Redis: a set-if-newer script; memory: the
/// newest version announced for the code).</item>
/// <item>Writers (create, edit, delete) store the new state in Redis and announce it on pub/sub, so every replica drops
/// its copy at once; announcements Redis could not take are retried.</item>
/// <item>Concurrent misses of one code share one load (a hot code after a restart or a Redis flush reads PostgreSQL once).</item>
/// <item>Unknown codes have a memory budget of their own, so a flood of random codes cannot evict hot links.</item>
/// <item>Redis is never required and never slow for long: a read that takes longer than <see cref="CacheOptions.RedisSoftTimeout"/>
/// falls through to PostgreSQL.</item>
/// </list>
/// </summary>
public sealed partial class LinkCache(
    IConnectionMultiplexer redis,
    LinkStore store,
    IOptions<CacheOptions> options,
    ApiMetrics metrics,
    ILogger<LinkCache> logger) : IDisposable
{
    public const string InvalidationChannel = "links:invalidated";
    private static readonly ActivitySource s_activity = new("Shortener.Api.Cache");

    /// <summary>Sets KEYS[1] to ARGV[2] (TTL ARGV[3] ms) unless it already holds a version at least ARGV[1].</summary>
    private const string SetIfNewerScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local version = tonumber(string.match(current, '^v(%d+)|'))
          if version and version >= tonumber(ARGV[1]) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    private readonly MemoryCache _links = new(new MemoryCacheOptions { SizeLimit = options.Value.LocalSizeLimit });
    private readonly MemoryCache _unknown = new(new MemoryCacheOptions { SizeLimit = options.Value.NegativeSizeLimit });
    // The newest version announced per code, kept as long as a local copy could live.
    private readonly MemoryCache _floors = new(new MemoryCacheOptions { SizeLimit = options.Value.LocalSizeLimit });
    private readonly ConcurrentDictionary<string, Task<(LinkTarget, CacheTier)>> _loads = new(StringComparer.Ordinal);

    /// <summary>Codes whose new state could not reach Redis; retried by <see cref="LinkInvalidationListener"/>.</summary>
    private readonly ConcurrentQueue<string> _pendingInvalidations = new();

    public static string RedisKey(string code) => "link:" + code;

    public async ValueTask<(LinkTarget Target, CacheTier Tier)> GetAsync(string code, CancellationToken ct)
    {
        if (!options.Value.Enabled) return (await store.FindTargetAsync(code, ct), CacheTier.Database);
        if (_links.TryGetValue(code, out LinkTarget? local) || _unknown.TryGetValue(code, out local)) return (local!, CacheTier.Memory);
        return await LoadOnceAsync(code).WaitAsync(ct);
    }

    /// <summary>
    /// Makes <paramref name="current"/> (just committed by a create, edit or delete) the state every tier and every
    /// replica serves; if Redis is unreachable, retried from PostgreSQL's state until it is.
    /// </summary>
    public async Task PublishAsync(string code, LinkTarget current)
    {
        ForgetLocally(code, current.Version);
        Remember(code, current);
        if (!await TryPublishSharedAsync(code, current)) _pendingInvalidations.Enqueue(code);
    }

    /// <summary>An announcement from a replica (or this one): forget the code, and refuse any older copy still being loaded.</summary>
    internal void ForgetLocally(string code, long version)
    {
        if (!_floors.TryGetValue(code, out long floor) || floor < version)
        {
            _floors.Set(code, version, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = options.Value.LocalTtl, Size = 1 });
        }
        _links.Remove(code);
        _unknown.Remove(code);
    }

    internal async Task RetryPendingInvalidationsAsync()
    {
        var count = _pendingInvalidations.Count;
        for (var i = 0; i < count && _pendingInvalidations.TryDequeue(out var code); i++)
        {
            LinkTarget current;
            try
            {
                current = await store.FindTargetAsync(code, CancellationToken.None);
            }
            catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
            {
                _pendingInvalidations.Enqueue(code);
                return;
            }
            if (!await TryPublishSharedAsync(code, current))
            {
                _pendingInvalidations.Enqueue(code);
                return;
            }
        }
    }

    /// <summary>One load per code at a time: concurrent misses wait for the same Redis and PostgreSQL reads.</summary>
    private Task<(LinkTarget, CacheTier)> LoadOnceAsync(string code)
    {
        while (true)
        {
            if (_loads.TryGetValue(code, out var running)) return running;
            var load = new TaskCompletionSource<(LinkTarget, CacheTier)>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_loads.TryAdd(code, load.Task)) continue;
            _ = CompleteAsync(code, load);
            return load.Task;
        }
    }

    private async Task CompleteAsync(string code, TaskCompletionSource<(LinkTarget, CacheTier)> load)
    {
        try
        {
            load.SetResult(await LoadAsync(code));
        }
        catch (Exception ex)
        {
            load.SetException(ex);
        }
        finally
        {
            _loads.TryRemove(new KeyValuePair<string, Task<(LinkTarget, CacheTier)>>(code, load.Task));
        }
    }

    private async Task<(LinkTarget, CacheTier)> LoadAsync(string code)
    {
        var settings = options.Value;
        using var activity = s_activity.StartActivity("link-cache lookup");
        activity?.SetTag("shortener.code", code);

        var database = redis.GetDatabase();
        try
        {
            if (LinkTarget.FromCacheValue(await database.StringGetAsync(RedisKey(code)).WaitAsync(settings.RedisSoftTimeout)) is { } shared)
            {
                activity?.SetTag("shortener.cache.tier", "redis");
                Remember(code, shared);
                metrics.CacheLoad(CacheTier.Redis);
                return (shared, CacheTier.Redis);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisFailure(ex is TimeoutException ? "cache-read-slow" : "cache-read");
            LogRedisReadFailed(logger, ex);
        }

        activity?.SetTag("shortener.cache.tier", "postgresql");
        // Not a request's token: every waiter shares this read, and one client going away must not fail the others.
        var target = await store.FindTargetAsync(code, CancellationToken.None);
        Remember(code, target);
        metrics.CacheLoad(CacheTier.Database);
        // Fire-and-forget: filling the shared tier never delays the redirect, and fails silently when Redis is down.
        database.ScriptEvaluate(SetIfNewerScript, [RedisKey(code)], SharedArguments(target, settings), CommandFlags.FireAndForget);
        return (target, CacheTier.Database);
    }

    private async Task<bool> TryPublishSharedAsync(string code, LinkTarget current)
    {
        try
        {
            var database = redis.GetDatabase();
            await database.ScriptEvaluateAsync(SetIfNewerScript, [RedisKey(code)], SharedArguments(current, options.Value));
            await database.PublishAsync(RedisChannel.Literal(InvalidationChannel),
                string.Create(CultureInfo.InvariantCulture, $"{current.Version}|{code}"));
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            metrics.RedisFailure("cache-invalidate");
            return false;
        }
    }

    /// <summary>Parses an announcement "version|code" from <see cref="InvalidationChannel"/>.</summary>
    internal static (string Code, long Version)? ParseAnnouncement(string? message)
    {
        var bar = message?.IndexOf('|', StringComparison.Ordinal) ?? -1;
        return bar > 0 && long.TryParse(message.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            ? (message![(bar + 1)..], version)
            : null;
    }

    private static RedisValue[] SharedArguments(LinkTarget target, CacheOptions settings) =>
        [target.Version, target.ToCacheValue(), (long)(target.Exists ? settings.RedisTtl : settings.NegativeTtl).TotalMilliseconds];

    private void Remember(string code, LinkTarget target)
    {
        if (IsOutdated(code, target)) return;
        var settings = options.Value;
        var tier = target.Exists ? _links : _unknown;
        tier.Set(code, target, new MemoryCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = target.Exists ? settings.LocalTtl : settings.NegativeTtl,
            Size = 1,
        });
        // An announcement may have landed between the check and the write: check again, after it.
        if (IsOutdated(code, target)) tier.Remove(code);
    }

    private bool IsOutdated(string code, LinkTarget target) => _floors.TryGetValue(code, out long floor) && target.Version < floor;

    public void Dispose()
    {
        _links.Dispose();
        _unknown.Dispose();
        _floors.Dispose();
    }

    [LoggerMessage(EventId = 10, EventName = "RedisCacheReadFailed", Level = LogLevel.Debug,
        Message = "Redis cache read failed or was slow; reading PostgreSQL")]
    private static partial void LogRedisReadFailed(ILogger logger, Exception error);
}

public enum CacheTier { Memory, Redis, Database }
