using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Worker;

/// <summary>How far behind the aggregators are: entries delivered but not acknowledged, plus entries not yet delivered.</summary>
public sealed record StreamLag(long Pending, long Undelivered, long DeadLettered, long StreamLength)
{
    public long Total => Pending + Undelivered;
}

/// <summary>Reads the consumer group's lag from XINFO GROUPS (Redis 7+). Exposed on /lag and as gauges for autoscaling.</summary>
public sealed class StreamLagMonitor(IConnectionMultiplexer redis)
{
    private const int MaxCountedWhenUnknown = 100_000;

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
}
