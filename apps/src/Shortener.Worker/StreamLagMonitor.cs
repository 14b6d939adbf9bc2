using Microsoft.Extensions.Options;
using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Worker;

/// <summary>How far behind the aggregators are: entries delivered but not acknowledged, plus entries not yet delivered.</summary>
public sealed record StreamLag(long Pending, long Undelivered, long DeadLettered, long StreamLength)
{
    public long Total => Pending + Undelivered;
}

/// <summary>
/// Reads the consumer group's lag from XINFO GROUPS (Redis 7+): live on /lag, and every
/// <see cref="AggregatorOptions.LagRefreshInterval"/> in the background for the gauges, so a scrape reads a field
/// and never waits on Redis (nor blocks a thread on it).
/// </summary>
public sealed class StreamLagMonitor(IConnectionMultiplexer redis, IOptions<AggregatorOptions> options) : BackgroundService
{
    /// <summary>When Redis cannot compute the lag, at most this many entries are counted (a lower bound, at a bounded cost).</summary>
    private const int MaxCountedWhenUnknown = 10_000;

    /// <summary>The last lag read in the background; zeros before the first read.</summary>
    public StreamLag Current { get; private set; } = new(0, 0, 0, 0);

    public async Task<StreamLag> ReadAsync(CancellationToken ct = default)
    {
        var database = redis.GetDatabase();
        var length = database.StreamLengthAsync(ClickStream.Key);
        var deadLettered = database.StreamLengthAsync(ClickStream.DeadLetterKey);
        StreamGroupInfo? group = null;
        if (await database.KeyExistsAsync(ClickStream.Key))
        {
            group = (await database.StreamGroupInfoAsync(ClickStream.Key))
                .Where(g => g.Name == ClickStream.ConsumerGroup).Cast<StreamGroupInfo?>().FirstOrDefault();
        }
        long undelivered;
        if (group is not { } g) undelivered = await length; // no group yet: everything is undelivered
        else if (g.Lag is { } lag) undelivered = lag;
        else
        {
            // Redis cannot always compute the lag (e.g. after deletions): count what lies past the last delivered id, bounded.
            undelivered = (await database.StreamRangeAsync(ClickStream.Key, "(" + g.LastDeliveredId, "+", MaxCountedWhenUnknown)).Length;
        }
        return new StreamLag(group?.PendingMessageCount ?? 0, undelivered, await deadLettered, await length);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LagRefreshInterval);
        try
        {
            do
            {
                try
                {
                    Current = await ReadAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    // Keep the last value: the failure counters and Redis alerts tell the story.
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
