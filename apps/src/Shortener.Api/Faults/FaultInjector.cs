using System.Text.Json;
using StackExchange.Redis;

namespace Shortener.Api.Faults;

/// <summary>
/// Faults shared by every replica through one Redis key (with the fault's duration as TTL), polled once a
/// second by each replica, so a game day drives the whole fleet with one call and faults end by themselves.
/// </summary>
public sealed partial class FaultInjector(IConnectionMultiplexer redis, TimeProvider time, ILogger<FaultInjector> logger) : BackgroundService
{
    public const string RedisKey = "faults:active";
    private volatile FaultSettings? _current;
    private Task<ulong[]>? _burn;

    public FaultSettings? Current => _current is { } f && f.ExpiresAt > time.GetUtcNow() ? f : null;

    public async Task SetAsync(FaultSettings settings)
    {
        var ttl = settings.ExpiresAt - time.GetUtcNow();
        await redis.GetDatabase().StringSetAsync(RedisKey, JsonSerializer.Serialize(settings), ttl);
        _current = settings;
        LogFaultSet(logger, settings.ErrorRate, settings.Route ?? "*", settings.LatencyMs, settings.CpuBurnUntil, settings.ExpiresAt);
    }

    public async Task ClearAsync()
    {
        await redis.GetDatabase().KeyDeleteAsync(RedisKey);
        _current = null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                try
                {
                    var value = await redis.GetDatabase().StringGetAsync(RedisKey);
                    _current = value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<FaultSettings>(value.ToString());
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or JsonException)
                {
                    // Keep the last known faults; they still expire on time.
                }
                if (Current?.CpuBurnUntil is { } until && until > time.GetUtcNow() && _burn is not { IsCompleted: false })
                {
                    _burn = BurnCpuUntil(until);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Spins every core until the deadline: a real CPU saturation for alerting and autoscaling demos.</summary>
    private Task<ulong[]> BurnCpuUntil(DateTimeOffset until) => Task.WhenAll(Enumerable.Range(0, Environment.ProcessorCount).Select(_ =>
        Task.Factory.StartNew(() =>
        {
            var x = 0UL;
            while (time.GetUtcNow() < until && Current is not null)
            {
                for (var i = 0; i < 1_000_000; i++) x = unchecked(x * 6364136223846793005UL + 1442695040888963407UL);
            }
            return x;
        }, TaskCreationOptions.LongRunning)));

    [LoggerMessage(EventId = 50, EventName = "FaultSet", Level = LogLevel.Warning,
        Message = "Fault injection set: error rate {ErrorRate} on {Route}, latency {LatencyMs} ms, CPU burn until {CpuBurnUntil}, until {ExpiresAt}")]
    private static partial void LogFaultSet(ILogger logger, double errorRate, string route, int latencyMs, DateTimeOffset? cpuBurnUntil, DateTimeOffset expiresAt);
}
