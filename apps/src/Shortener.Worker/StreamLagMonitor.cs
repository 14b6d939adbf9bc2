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
    public async Task<StreamLag> ReadAsync(CancellationToken ct = default)
    {
        var database = redis.GetDatabase();
        var length = database.StreamLengthAsync(ClickStream.Key);
        var deadLettered = database.StreamLengthAsync(ClickStream.DeadLetterKey);
        StreamGroupInfo? group = null;
        if (await database.KeyExistsAsync(ClickStream.Key))
        {
            group = (await database.StreamGroupInfoAsync(ClickStream.Key)).FirstOrDefault(g => g.Name == ClickStream.ConsumerGroup);
        }
        // No group yet: every entry in the stream is undelivered.
        var undelivered = group is { } g ? g.Lag ?? 0 : await length;
        return new StreamLag(group?.PendingMessageCount ?? 0, undelivered, await deadLettered, await length);
    }
}
