using System.Diagnostics;
using Microsoft.Extensions.Options;
using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Api.Clicks;

/// <summary>
/// Flushes the counts of <see cref="ClickBuffer"/> to the Redis stream: one entry per <see cref="ClickOptions.BatchSize"/>
/// keys per flush, each with a fresh batch id (the worker's idempotency key), the stream capped with XADD MAXLEN ~.
/// A failed batch is kept and retried (a retry after a write that did land is absorbed by the batch id), while new
/// clicks keep counting, bounded, in the buffer. A batch is retried without end while its writes never left the
/// process (Redis unreachable); once a write may have reached Redis, for at most
/// <see cref="ClickOptions.UncertainWriteRetryLimit"/>, so that the worker can bound how long it remembers batch ids.
/// On shutdown it runs after the web server has stopped and flushes what is left; a SIGKILL loses at most one <see cref="ClickOptions.FlushInterval"/> of this process's clicks.
/// </summary>
public sealed partial class ClickPublisher(
    ClickBuffer buffer,
    IConnectionMultiplexer redis,
    IOptions<ClickOptions> options,
    ApiMetrics metrics,
    TimeProvider time,
    ILogger<ClickPublisher> logger) : BackgroundService
{
    private static readonly ActivitySource s_activity = new("Shortener.Api.Clicks");
    // Never disposed, like ClickBuffer's semaphore: a source without a timer or linked tokens holds nothing to release,
    // and disposing it made a second StopAsync (a test host stopped twice, the second after disposal) throw
    // ObjectDisposedException from the registration below once the shutdown token fired.
    private readonly CancellationTokenSource _abandon = new();

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        buffer.Complete();
        // If the host's shutdown timeout fires while Redis is unreachable, give up on what is left.
        await using var registration = cancellationToken.Register(_abandon.Cancel);
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Deliberately not stoppingToken: flushing ends when the buffer is completed and its last counts written.
        var completed = false;
        while (!completed)
        {
            completed = await buffer.WaitForFlushAsync();
            var (counts, traceParents) = buffer.Take();
            if (counts.Count == 0) continue;
            foreach (var chunk in counts.Chunk(options.Value.BatchSize))
            {
                var batch = new ClickBatch(Guid.CreateVersion7(), [.. chunk.Select(c => (c.Key, c.Value))], traceParents);
                traceParents = [];
                if (!await PublishWithRetryAsync(batch))
                {
                    var left = counts.Values.Sum() + buffer.Count;
                    metrics.ClicksAbandonedAtShutdown(left);
                    LogAbandoned(logger, left);
                    return;
                }
            }
        }
    }

    private async Task<bool> PublishWithRetryAsync(ClickBatch batch)
    {
        var fields = batch.ToStreamFields();
        DateTimeOffset? uncertainSince = null;
        while (true)
        {
            try
            {
                await PublishAsync(batch, fields);
                metrics.ClicksPublished(batch.TotalClicks);
                return true;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                metrics.RedisFailure("click-publish");
                LogPublishFailed(logger, batch.TotalClicks, ex.GetType().Name);
                if (MayHaveReachedRedis(ex)) uncertainSince ??= time.GetUtcNow();
                if (uncertainSince is { } since && time.GetUtcNow() - since >= options.Value.UncertainWriteRetryLimit)
                {
                    // Counted by the worker if one of the writes landed, lost if none did: never counted twice.
                    metrics.ClicksAbandonedUncertain(batch.TotalClicks);
                    LogUncertainAbandoned(logger, batch.TotalClicks, batch.BatchId);
                    return true;
                }
                try
                {
                    await Task.Delay(options.Value.RetryDelay, _abandon.Token);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }
    }

    /// <summary>
    /// Whether a failed XADD may have been applied. StackExchange.Redis records how far the command got: one still
    /// waiting to be sent (no connection, BacklogPolicy.FailFast) was not; an error reply means Redis refused it; a
    /// command sent and then timed out or cut off, or of unknown state, may have been.
    /// </summary>
    internal static bool MayHaveReachedRedis(Exception ex) => ex switch
    {
        RedisServerException => false,
        RedisConnectionException connection => connection.CommandStatus is not (CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog),
        RedisTimeoutException timeout => timeout.Commandstatus is not (CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog),
        _ => true,
    };

    private async Task PublishAsync(ClickBatch batch, NameValueEntry[] fields)
    {
        var links = s_activity.HasListeners() ? batch.TraceParents
            .Select(p => ActivityContext.TryParse(p, null, out var context) ? new ActivityLink(context) : default)
            .Where(l => l.Context != default).ToList() : null;
        using var activity = s_activity.StartActivity("click-stream publish", ActivityKind.Producer, parentContext: default, links: links);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", ClickStream.Key);
        activity?.SetTag("messaging.message.id", batch.BatchId.ToString("N"));
        activity?.SetTag("shortener.clicks.count", batch.TotalClicks);

        await redis.GetDatabase().StreamAddAsync(ClickStream.Key, fields,
            maxLength: options.Value.StreamMaxLength, useApproximateMaxLength: true);
    }

    [LoggerMessage(EventId = 20, EventName = "ClickPublishFailed", Level = LogLevel.Warning,
        Message = "Could not write a batch of {Count} clicks to the stream ({Error}); retrying")]
    private static partial void LogPublishFailed(ILogger logger, long count, string error);

    [LoggerMessage(EventId = 22, EventName = "ClicksUncertainAbandoned", Level = LogLevel.Error,
        Message = "Gave up a batch of {Count} clicks ({BatchId}) after its writes, which may have reached Redis, failed for Clicks:UncertainWriteRetryLimit: counted if one landed, lost if none did")]
    private static partial void LogUncertainAbandoned(ILogger logger, long count, Guid batchId);

    [LoggerMessage(EventId = 21, EventName = "ClicksAbandoned", Level = LogLevel.Error,
        Message = "Shutdown timeout reached with Redis unreachable: {Count} counted clicks were not written")]
    private static partial void LogAbandoned(ILogger logger, long count);
}
