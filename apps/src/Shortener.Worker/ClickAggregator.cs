using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Worker;

/// <summary>
/// Consumes the click stream (pre-aggregated <see cref="ClickBatch"/> entries) with a consumer group and adds the
/// counts to PostgreSQL.
/// <list type="bullet">
/// <item>At-least-once delivery made exactly-once counting: entries are acknowledged (XACK) only after the
/// PostgreSQL transaction that counted them committed, and the ledger ignores batch ids it has seen.</item>
/// <item>Entries left pending by a dead consumer are reclaimed with XAUTOCLAIM after <see cref="AggregatorOptions.ClaimMinIdle"/>;
/// consumers idle for <see cref="AggregatorOptions.DeadConsumerIdle"/> with nothing pending are deleted from the group.</item>
/// <item>Poison entries (malformed, or rejected by PostgreSQL with a non-transient error) are retried until delivered
/// <see cref="AggregatorOptions.MaxDeliveries"/> times, then moved to the dead-letter stream and acknowledged.</item>
/// <item>The stream is capped by the API (XADD MAXLEN ~); entries trimmed before this group read them are counted as
/// lost (shortener.clickstream.trimmed_unread). The worker itself trims only below what every group acknowledged.</item>
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
    private bool _groupExists;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        LogStarting(logger, settings.ConsumerName);
        // The previous read, being counted in PostgreSQL and acknowledged while the next one is read from Redis and
        // parsed: the two halves take turns on different cores instead of one waiting for the other (draining a
        // backlog, the worker's share and PostgreSQL's were each about 60 % of a core, one after the other).
        // Never more than one read in flight: its entries are acknowledged before the next read is counted.
        Task? counting = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await EnsureGroupAsync();
                    if (DateTimeOffset.UtcNow >= _nextMaintenance)
                    {
                        await FinishAsync(ref counting);
                        await MaintainAsync(stoppingToken);
                        _nextMaintenance = DateTimeOffset.UtcNow + settings.MaintenanceInterval;
                    }

                    var entries = await redis.GetDatabase().StreamReadGroupAsync(
                        ClickStream.Key, ClickStream.ConsumerGroup, settings.ConsumerName, StreamPosition.NewMessages, settings.BatchSize);
                    if (entries.Length == 0)
                    {
                        await FinishAsync(ref counting);
                        await Task.Delay(settings.PollInterval, stoppingToken);
                        continue;
                    }
                    var parsed = Parse(entries);
                    await FinishAsync(ref counting);
                    counting = ProcessAsync(parsed, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or NpgsqlException)
                {
                    // The stream (and so its group) disappears if Redis lost its data: recreate the group next time.
                    // Entries read but not counted stay pending on this consumer and are reclaimed after ClaimMinIdle.
                    if (ex is RedisServerException && ex.Message.StartsWith("NOGROUP", StringComparison.Ordinal)) _groupExists = false;
                    metrics.Failure(ex is NpgsqlException ? "postgresql" : "redis");
                    LogLoopFailed(logger, ex);
                    await Task.Delay(settings.RetryDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            // A started transaction is allowed to finish on shutdown, and its entries to be acknowledged.
            if (counting is not null)
            {
                try
                {
                    await counting;
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException or NpgsqlException or OperationCanceledException)
                {
                    LogLoopFailed(logger, ex);
                }
            }
        }
        LogStopped(logger, settings.ConsumerName);
    }

    /// <summary>Waits for the read being counted, if any; its failure surfaces here, once.</summary>
    private static Task FinishAsync(ref Task? counting)
    {
        var task = counting ?? Task.CompletedTask;
        counting = null;
        return task;
    }

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

    /// <summary>
    /// Counts the valid entries in one transaction, then acknowledges them. If PostgreSQL rejects the transaction for good
    /// (not a transient error), each entry is tried on its own so one poison entry cannot hold back the others.
    /// </summary>
    public Task ProcessAsync(StreamEntry[] entries, CancellationToken stoppingToken) => ProcessAsync(Parse(entries), stoppingToken);

    private sealed record ParsedRead(TimeSpan ParseTime, List<(StreamEntry Entry, ClickBatch Batch)> Valid, List<(StreamEntry Entry, string Error)> Malformed);

    private static ParsedRead Parse(StreamEntry[] entries)
    {
        var started = Stopwatch.GetTimestamp();
        var valid = new List<(StreamEntry Entry, ClickBatch Batch)>(entries.Length);
        var malformed = new List<(StreamEntry Entry, string Error)>();
        foreach (var entry in entries)
        {
            if (entry.IsNull) continue;
            if (ClickBatch.TryParse(entry.Values, out var batch, out var error)) valid.Add((entry, batch));
            else malformed.Add((entry, error));
        }
        return new ParsedRead(Stopwatch.GetElapsedTime(started), valid, malformed);
    }

    private async Task ProcessAsync(ParsedRead read, CancellationToken stoppingToken)
    {
        // Parsing plus counting: not the wait for the previous read, which the parse overlapped.
        var started = Stopwatch.GetTimestamp();
        var (parseTime, valid, malformed) = read;
        using var activity = StartBatchActivity(valid.Select(v => v.Batch));
        if (valid.Count > 0)
        {
            try
            {
                var counted = await CountAsync(valid, stoppingToken);
                activity?.SetTag("shortener.clicks.counted", counted);
            }
            catch (PostgresException ex) when (!ex.IsTransient)
            {
                foreach (var one in valid)
                {
                    try
                    {
                        await CountAsync([one], stoppingToken);
                    }
                    catch (PostgresException rejected) when (!rejected.IsTransient)
                    {
                        await DeadLetterAfterMaxDeliveriesAsync(one.Entry, "rejected", $"{rejected.SqlState}: {rejected.MessageText}");
                    }
                }
            }
        }
        foreach (var (entry, error) in malformed)
        {
            await DeadLetterAfterMaxDeliveriesAsync(entry, "malformed", error);
        }
        metrics.BatchDuration((parseTime + Stopwatch.GetElapsedTime(started)).TotalSeconds);
    }

    private async Task<long> CountAsync(List<(StreamEntry Entry, ClickBatch Batch)> valid, CancellationToken stoppingToken)
    {
        // The same batch may be in the stream twice (a publish retried after a timeout): the ledger sees it once per statement.
        var batches = valid.Select(v => v.Batch).DistinctBy(b => b.BatchId).ToArray();
        var total = valid.Sum(v => v.Batch.TotalClicks);
        var counted = await AggregateWithRetryAsync(batches, stoppingToken);
        // Only after the commit: a crash before this line means redelivery, which the ledger absorbs.
        await redis.GetDatabase().StreamAcknowledgeAsync(ClickStream.Key, ClickStream.ConsumerGroup, [.. valid.Select(v => v.Entry.Id)]);
        metrics.Processed(counted, total - counted, valid.Count);
        return counted;
    }

    /// <summary>
    /// PostgreSQL being briefly unavailable must not turn into redeliveries: retry the same batch here.
    /// On shutdown the batch stays pending and the next worker reclaims it. A non-transient error is the caller's.
    /// </summary>
    private async Task<long> AggregateWithRetryAsync(ClickBatch[] batches, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                // Not stoppingToken: a started transaction is allowed to finish during shutdown.
                return await ledger.AggregateAsync(batches, CancellationToken.None);
            }
            catch (NpgsqlException ex) when (ex is not PostgresException { IsTransient: false })
            {
                metrics.Failure("postgresql");
                LogAggregateRetry(logger, batches.Length, ex.GetType().Name);
                await Task.Delay(options.Value.RetryDelay, stoppingToken);
            }
        }
    }

    /// <summary>Leaves a poison entry pending (it is redelivered after ClaimMinIdle) until its last allowed delivery, then dead-letters it.</summary>
    private async Task DeadLetterAfterMaxDeliveriesAsync(StreamEntry entry, string kind, string error)
    {
        var database = redis.GetDatabase();
        var pending = await database.StreamPendingMessagesAsync(
            ClickStream.Key, ClickStream.ConsumerGroup, 1, RedisValue.Null, entry.Id, entry.Id);
        var deliveries = pending.Length == 0 ? 0 : pending[0].DeliveryCount;
        if (deliveries < options.Value.MaxDeliveries)
        {
            LogPoison(logger, entry.Id.ToString(), kind, error, deliveries);
            return;
        }

        var fields = entry.Values
            .Append(new NameValueEntry("dead.original_id", entry.Id))
            .Append(new NameValueEntry("dead.kind", kind))
            .Append(new NameValueEntry("dead.reason", error))
            .Append(new NameValueEntry("dead.deliveries", deliveries))
            .ToArray();
        // Atomic: the entry is either still pending or both dead-lettered and acknowledged.
        var transaction = database.CreateTransaction();
        _ = transaction.StreamAddAsync(ClickStream.DeadLetterKey, fields, maxLength: options.Value.DeadLetterMaxLength, useApproximateMaxLength: true);
        _ = transaction.StreamAcknowledgeAsync(ClickStream.Key, ClickStream.ConsumerGroup, entry.Id);
        await transaction.ExecuteAsync();
        metrics.DeadLettered(kind);
        LogDeadLettered(logger, entry.Id.ToString(), kind, error, deliveries);
    }

    private async Task MaintainAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var database = redis.GetDatabase();

        await CountTrimmedUnreadAsync(database);

        var claimed = await database.StreamAutoClaimAsync(ClickStream.Key, ClickStream.ConsumerGroup, settings.ConsumerName,
            (long)settings.ClaimMinIdle.TotalMilliseconds, _reclaimCursor, settings.BatchSize);
        _reclaimCursor = claimed.NextStartId;
        if (claimed.DeletedIds.Length > 0)
        {
            // Delivered, never acknowledged, and trimmed away by the cap before anyone could count them again.
            metrics.TrimmedUnread(claimed.DeletedIds.Length);
            LogTrimmedUnread(logger, claimed.DeletedIds.Length);
        }
        if (claimed.ClaimedEntries.Length > 0)
        {
            metrics.Reclaimed(claimed.ClaimedEntries.Length);
            LogReclaimed(logger, claimed.ClaimedEntries.Length);
            await ProcessAsync(claimed.ClaimedEntries, stoppingToken);
        }

        await DeleteDeadConsumersAsync(database);
        var positions = await GroupPositionsAsync(database);
        await TrimAsync(database, positions);

        if (DateTimeOffset.UtcNow >= _nextPrune)
        {
            await ledger.PruneAsync(settings.LedgerRetention, await OldestDeliverableAsync(database, positions), stoppingToken);
            _nextPrune = DateTimeOffset.UtcNow + settings.LedgerPruneInterval;
        }
    }

    /// <summary>
    /// If the cap trimmed entries this group had not read yet (its last delivered id lies before the first entry left),
    /// counts them (entries ever removed minus entries the group read), then records them as read, so that the group's
    /// lag is right again and the same gap is never counted twice by this worker.
    /// </summary>
    private async Task CountTrimmedUnreadAsync(IDatabase database)
    {
        var stream = await database.StreamInfoAsync(ClickStream.Key);
        if (stream.Length == 0 || stream.FirstEntry.IsNull) return;
        var group = (await database.StreamGroupInfoAsync(ClickStream.Key)).FirstOrDefault(g => g.Name == ClickStream.ConsumerGroup);
        if (group.Name is null || group.EntriesRead is not { } read) return;
        if (StreamId.Parse(group.LastDeliveredId).CompareTo(StreamId.Parse(stream.FirstEntry.Id)) >= 0) return;

        var removed = stream.EntriesAdded - stream.Length;
        if (removed <= read) return;
        metrics.TrimmedUnread(removed - read);
        LogTrimmedUnread(logger, removed - read);
        await database.ExecuteAsync("XGROUP", "SETID", ClickStream.Key, ClickStream.ConsumerGroup, group.LastDeliveredId!, "ENTRIESREAD", removed);
    }

    /// <summary>
    /// When the oldest entry that can still be delivered was added (its id's milliseconds, Redis's clock), or null if
    /// none can: per group, the lowest pending entry (read, not acknowledged) and the first entry after the last one
    /// delivered. Entries below both were acknowledged; the trim's "~" may keep a few of them, but no read returns them.
    /// </summary>
    private static async Task<DateTimeOffset?> OldestDeliverableAsync(IDatabase database, IReadOnlyList<GroupPosition> groups)
    {
        var candidates = new List<StreamId>();
        if (groups.Count == 0)
        {
            var first = await database.StreamRangeAsync(ClickStream.Key, "-", "+", count: 1);
            candidates.AddRange(first.Select(e => StreamId.Parse(e.Id)));
        }
        foreach (var group in groups)
        {
            if (group.LowestPending is { } pending) candidates.Add(pending);
            var next = await database.StreamRangeAsync(ClickStream.Key, "(" + group.LastDelivered, "+", count: 1);
            candidates.AddRange(next.Select(e => StreamId.Parse(e.Id)));
        }
        return candidates.Count == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds((long)candidates.Aggregate(StreamId.Min).Milliseconds);
    }

    /// <summary>Where each consumer group stands: the last entry delivered to it, and its lowest pending one if any.</summary>
    private readonly record struct GroupPosition(StreamId LastDelivered, StreamId? LowestPending);

    /// <summary>One read of the groups for both the trim and the ledger's prune.</summary>
    private static async Task<List<GroupPosition>> GroupPositionsAsync(IDatabase database)
    {
        var positions = new List<GroupPosition>();
        foreach (var group in await database.StreamGroupInfoAsync(ClickStream.Key))
        {
            StreamId? lowestPending = group.PendingMessageCount > 0
                ? StreamId.Parse((await database.StreamPendingAsync(ClickStream.Key, group.Name)).LowestPendingMessageId)
                : null;
            positions.Add(new GroupPosition(StreamId.Parse(group.LastDeliveredId), lowestPending));
        }
        return positions;
    }

    /// <summary>Consumers of stopped workers stay in the group forever unless deleted; one with entries pending is left for XAUTOCLAIM.</summary>
    private async Task DeleteDeadConsumersAsync(IDatabase database)
    {
        var settings = options.Value;
        foreach (var consumer in await database.StreamConsumerInfoAsync(ClickStream.Key, ClickStream.ConsumerGroup))
        {
            if (consumer.Name == settings.ConsumerName || consumer.PendingMessageCount > 0
                || consumer.IdleTimeInMilliseconds < settings.DeadConsumerIdle.TotalMilliseconds) continue;
            // A live consumer deleted by mistake loses nothing (it has nothing pending) and is recreated by its next read.
            await database.StreamDeleteConsumerAsync(ClickStream.Key, ClickStream.ConsumerGroup, consumer.Name);
            metrics.ConsumerDeleted();
            LogConsumerDeleted(logger, consumer.Name!, consumer.IdleTimeInMilliseconds);
        }
    }

    /// <summary>Deletes entries every group has both received and acknowledged: below the oldest pending and last-delivered ids.</summary>
    private static async Task TrimAsync(IDatabase database, IReadOnlyList<GroupPosition> groups)
    {
        if (groups.Count == 0) return;
        var floor = groups.Select(g => g.LowestPending is { } pending ? StreamId.Min(g.LastDelivered, pending) : g.LastDelivered)
            .Aggregate(StreamId.Min);
        if (floor.Milliseconds > 0)
        {
            // "~" only drops whole internal nodes lying below the floor: cheaper, and never cuts above it.
            await database.StreamTrimByMinIdAsync(ClickStream.Key, floor.ToString(), useApproximateMaxLength: true);
        }
    }

    private static Activity? StartBatchActivity(IEnumerable<ClickBatch> batches)
    {
        if (!s_activity.HasListeners()) return null;
        var links = new List<ActivityLink>();
        foreach (var traceParent in batches.SelectMany(b => b.TraceParents))
        {
            if (links.Count == MaxSpanLinks) break;
            if (ActivityContext.TryParse(traceParent, null, out var context)) links.Add(new ActivityLink(context));
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

    [LoggerMessage(EventId = 103, EventName = "AggregateRetry", Level = LogLevel.Warning, Message = "Could not count {Count} click batches ({Error}); retrying")]
    private static partial void LogAggregateRetry(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 104, EventName = "PoisonClickEntry", Level = LogLevel.Warning, Message = "Stream entry {EntryId} is {Kind}: {Error} (delivery {Deliveries}); left pending")]
    private static partial void LogPoison(ILogger logger, string entryId, string kind, string error, long deliveries);

    [LoggerMessage(EventId = 105, EventName = "ClickDeadLettered", Level = LogLevel.Error, Message = "Stream entry {EntryId} ({Kind}) moved to the dead-letter stream: {Error} after {Deliveries} deliveries")]
    private static partial void LogDeadLettered(ILogger logger, string entryId, string kind, string error, long deliveries);

    [LoggerMessage(EventId = 106, EventName = "ClicksReclaimed", Level = LogLevel.Information, Message = "Reclaimed {Count} entries left pending by other consumers")]
    private static partial void LogReclaimed(ILogger logger, int count);

    [LoggerMessage(EventId = 107, EventName = "ClickEntriesTrimmedUnread", Level = LogLevel.Error, Message = "{Count} click stream entries were trimmed by the stream cap before they were counted: their clicks are lost")]
    private static partial void LogTrimmedUnread(ILogger logger, long count);

    [LoggerMessage(EventId = 108, EventName = "DeadConsumerDeleted", Level = LogLevel.Information, Message = "Deleted consumer {Consumer}, idle {IdleMs} ms with nothing pending")]
    private static partial void LogConsumerDeleted(ILogger logger, string consumer, long idleMs);
}
