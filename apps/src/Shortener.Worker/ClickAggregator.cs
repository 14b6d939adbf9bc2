using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Worker;

/// <summary>
/// Consumes the click stream with a consumer group and aggregates it into PostgreSQL.
/// <list type="bullet">
/// <item>At-least-once delivery made exactly-once counting: entries are acknowledged (XACK) only after the
/// PostgreSQL transaction that counted them committed, and the ledger ignores event ids it has seen.</item>
/// <item>Entries left pending by a dead consumer are reclaimed with XAUTOCLAIM after <see cref="AggregatorOptions.ClaimMinIdle"/>.</item>
/// <item>Malformed entries are retried until delivered <see cref="AggregatorOptions.MaxDeliveries"/> times, then moved to the dead-letter stream.</item>
/// <item>The stream is trimmed only below the oldest entry still pending or undelivered.</item>
/// </list>
/// </summary>
public sealed partial class ClickAggregator(
    IConnectionMultiplexer redis,
    ClickLedger ledger,
    IOptions<AggregatorOptions> options,
    WorkerMetrics metrics,
    ILogger<ClickAggregator> logger) : BackgroundService
{
    public const string ActivitySourceName = "Shortener.Worker";
    private static readonly ActivitySource s_activity = new(ActivitySourceName);
    private const int MaxSpanLinks = 128;

    private RedisValue _reclaimCursor = "0-0";
    private DateTimeOffset _nextMaintenance = DateTimeOffset.MinValue;
    private DateTimeOffset _nextPrune = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        LogStarting(logger, settings.ConsumerName);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await EnsureGroupAsync();
                if (DateTimeOffset.UtcNow >= _nextMaintenance)
                {
                    await MaintainAsync(stoppingToken);
                    _nextMaintenance = DateTimeOffset.UtcNow + settings.MaintenanceInterval;
                }

                var entries = await redis.GetDatabase().StreamReadGroupAsync(
                    ClickStream.Key, ClickStream.ConsumerGroup, settings.ConsumerName, StreamPosition.NewMessages, settings.BatchSize);
                if (entries.Length == 0)
                {
                    await Task.Delay(settings.PollInterval, stoppingToken);
                    continue;
                }
                await ProcessAsync(entries, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or NpgsqlException)
            {
                // The stream (and so its group) disappears if Redis lost its data: recreate the group next time.
                if (ex is RedisServerException && ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal)) _groupExists = false;
                metrics.Failure(ex is NpgsqlException ? "postgresql" : "redis");
                LogLoopFailed(logger, ex);
                await Task.Delay(settings.RetryDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
        LogStopped(logger, settings.ConsumerName);
    }

    private bool _groupExists;

    private async Task EnsureGroupAsync()
    {
        if (_groupExists) return;
        try
        {
            // Position "0": a group created after clicks were already produced still counts them.
            await redis.GetDatabase().StreamCreateConsumerGroupAsync(ClickStream.Key, ClickStream.ConsumerGroup, "0", createStream: true);
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // Already there.
        }
        _groupExists = true;
    }

    /// <summary>Counts the valid entries in one transaction, then acknowledges them; malformed entries stay pending.</summary>
    public async Task ProcessAsync(StreamEntry[] entries, CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        var clicks = new Dictionary<Guid, ClickEvent>(entries.Length);
        var valid = new List<RedisValue>(entries.Length);
        var malformed = new List<(StreamEntry Entry, string Error)>();
        foreach (var entry in entries)
        {
            if (entry.IsNull) continue;
            if (ClickEvent.TryParse(entry.Values, out var click, out var error))
            {
                clicks.TryAdd(click.EventId, click);
                valid.Add(entry.Id);
            }
            else
            {
                malformed.Add((entry, error));
            }
        }

        using var activity = StartBatchActivity(clicks.Values);
        if (clicks.Count > 0)
        {
            var counted = await AggregateWithRetryAsync([.. clicks.Values], stoppingToken);
            // Only after the commit: a crash before this line means redelivery, which the ledger absorbs.
            await redis.GetDatabase().StreamAcknowledgeAsync(ClickStream.Key, ClickStream.ConsumerGroup, [.. valid]);
            metrics.Processed(counted, entries.Length - malformed.Count - counted);
            activity?.SetTag("shortener.clicks.counted", counted);
        }
        foreach (var (entry, error) in malformed)
        {
            await HandleMalformedAsync(entry, error);
        }
        metrics.BatchDuration(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// PostgreSQL being briefly unavailable must not turn into redeliveries: retry the same batch here.
    /// On shutdown the batch stays pending and the next worker reclaims it.
    /// </summary>
    private async Task<int> AggregateWithRetryAsync(ClickEvent[] clicks, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                // Not stoppingToken: a started transaction is allowed to finish during shutdown.
                return await ledger.AggregateAsync(clicks, CancellationToken.None);
            }
            catch (NpgsqlException ex) when (ex is not PostgresException { IsTransient: false })
            {
                metrics.Failure("postgresql");
                LogAggregateRetry(logger, clicks.Length, ex.GetType().Name);
                await Task.Delay(options.Value.RetryDelay, stoppingToken);
            }
        }
    }

    private async Task HandleMalformedAsync(StreamEntry entry, string error)
    {
        var database = redis.GetDatabase();
        var pending = await database.StreamPendingMessagesAsync(
            ClickStream.Key, ClickStream.ConsumerGroup, 1, RedisValue.Null, entry.Id, entry.Id);
        var deliveries = pending.Length == 0 ? 0 : pending[0].DeliveryCount;
        if (deliveries < options.Value.MaxDeliveries)
        {
            LogMalformed(logger, entry.Id.ToString(), error, deliveries);
            return;
        }

        var fields = entry.Values
            .Append(new NameValueEntry("dead.original_id", entry.Id))
            .Append(new NameValueEntry("dead.reason", error))
            .Append(new NameValueEntry("dead.deliveries", deliveries))
            .ToArray();
        // Atomic: the entry is either still pending or both dead-lettered and acknowledged.
        var transaction = database.CreateTransaction();
        _ = transaction.StreamAddAsync(ClickStream.DeadLetterKey, fields);
        _ = transaction.StreamAcknowledgeAsync(ClickStream.Key, ClickStream.ConsumerGroup, entry.Id);
        await transaction.ExecuteAsync();
        metrics.DeadLettered();
        LogDeadLettered(logger, entry.Id.ToString(), error, deliveries);
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var database = redis.GetDatabase();

        var claimed = await database.StreamAutoClaimAsync(ClickStream.Key, ClickStream.ConsumerGroup, settings.ConsumerName,
            (long)settings.ClaimMinIdle.TotalMilliseconds, _reclaimCursor, settings.BatchSize);
        _reclaimCursor = claimed.NextStartId;
        if (claimed.ClaimedEntries.Length > 0)
        {
            metrics.Reclaimed(claimed.ClaimedEntries.Length);
            LogReclaimed(logger, claimed.ClaimedEntries.Length);
            await ProcessAsync(claimed.ClaimedEntries, stoppingToken);
        }

        await TrimAsync(database);

        if (DateTimeOffset.UtcNow >= _nextPrune)
        {
            await ledger.PruneAsync(settings.LedgerRetention, stoppingToken);
            _nextPrune = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(5);
        }
    }

    /// <summary>Deletes entries every group has both received and acknowledged: below the oldest pending and last-delivered ids.</summary>
    private static async Task TrimAsync(IDatabase database)
    {
        var groups = await database.StreamGroupInfoAsync(ClickStream.Key);
        if (groups.Length == 0) return;
        StreamId? floor = null;
        foreach (var group in groups)
        {
            var candidate = StreamId.Parse(group.LastDeliveredId);
            if (group.PendingMessageCount > 0)
            {
                var pending = await database.StreamPendingAsync(ClickStream.Key, group.Name);
                candidate = StreamId.Min(candidate, StreamId.Parse(pending.LowestPendingMessageId));
            }
            floor = floor is null ? candidate : StreamId.Min(floor.Value, candidate);
        }
        if (floor is { } minId && minId.Milliseconds > 0)
        {
            // "~" only drops whole internal nodes lying below the floor: cheaper, and never cuts above it.
            await database.StreamTrimByMinIdAsync(ClickStream.Key, minId.ToString(), useApproximateMaxLength: true);
        }
    }

    private static Activity? StartBatchActivity(IEnumerable<ClickEvent> clicks)
    {
        if (!s_activity.HasListeners()) return null;
        var links = new List<ActivityLink>();
        foreach (var click in clicks)
        {
            if (links.Count == MaxSpanLinks) break;
            if (click.TraceParent is not null && ActivityContext.TryParse(click.TraceParent, null, out var context))
            {
                links.Add(new ActivityLink(context));
            }
        }
        var activity = s_activity.StartActivity("click-stream process", ActivityKind.Consumer, parentContext: default, links: links);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", ClickStream.Key);
        activity?.SetTag("messaging.consumer.group.name", ClickStream.ConsumerGroup);
        return activity;
    }

    [LoggerMessage(EventId = 100, EventName = "AggregatorStarting", Level = LogLevel.Information, Message = "Click aggregator {Consumer} starting")]
    private static partial void LogStarting(ILogger logger, string consumer);

    [LoggerMessage(EventId = 101, EventName = "AggregatorStopped", Level = LogLevel.Information, Message = "Click aggregator {Consumer} stopped")]
    private static partial void LogStopped(ILogger logger, string consumer);

    [LoggerMessage(EventId = 102, EventName = "AggregatorLoopFailed", Level = LogLevel.Warning, Message = "Click aggregation failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 103, EventName = "AggregateRetry", Level = LogLevel.Warning, Message = "Could not count a batch of {Count} clicks ({Error}); retrying")]
    private static partial void LogAggregateRetry(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 104, EventName = "MalformedClick", Level = LogLevel.Warning, Message = "Malformed stream entry {EntryId}: {Error} (delivery {Deliveries}); left pending")]
    private static partial void LogMalformed(ILogger logger, string entryId, string error, long deliveries);

    [LoggerMessage(EventId = 105, EventName = "ClickDeadLettered", Level = LogLevel.Error, Message = "Stream entry {EntryId} moved to the dead-letter stream: {Error} after {Deliveries} deliveries")]
    private static partial void LogDeadLettered(ILogger logger, string entryId, string error, long deliveries);

    [LoggerMessage(EventId = 106, EventName = "ClicksReclaimed", Level = LogLevel.Information, Message = "Reclaimed {Count} entries left pending by other consumers")]
    private static partial void LogReclaimed(ILogger logger, int count);
}
