using System.Diagnostics;
using Microsoft.Extensions.Options;
using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Api.Clicks;

/// <summary>
/// Moves clicks from <see cref="ClickBuffer"/> to the Redis stream in pipelined batches (one round trip
/// per batch, not per click). A failed batch is kept and retried, so a Redis outage fills the buffer
/// (and then drops, counted) rather than losing what was already accepted. On shutdown it runs after
/// the web server has stopped and flushes what is left.
/// </summary>
public sealed partial class ClickPublisher(
    ClickBuffer buffer,
    IConnectionMultiplexer redis,
    IOptions<ClickOptions> options,
    ApiMetrics metrics,
    ILogger<ClickPublisher> logger) : BackgroundService
{
    private static readonly ActivitySource s_activity = new("Shortener.Api.Clicks");
    private readonly CancellationTokenSource _abandon = new();

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        buffer.Complete();
        // If the host's shutdown timeout fires while Redis is unreachable, give up on what is left.
        await using var registration = cancellationToken.Register(_abandon.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batchSize = options.Value.BatchSize;
        var batch = new List<ClickEvent>(batchSize);
        // Deliberately not stoppingToken: reading ends when the buffer is completed and drained.
        while (await buffer.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < batchSize && buffer.Reader.TryRead(out var click)) batch.Add(click);
            if (!await PublishWithRetryAsync(batch))
            {
                LogAbandoned(logger, batch.Count + buffer.Count);
                return;
            }
            batch.Clear();
        }
    }

    private async Task<bool> PublishWithRetryAsync(List<ClickEvent> batch)
    {
        while (true)
        {
            try
            {
                await PublishAsync(batch);
                metrics.ClicksPublished(batch.Count);
                return true;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                metrics.RedisFailure("click-publish");
                LogPublishFailed(logger, batch.Count, ex.GetType().Name);
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

    private async Task PublishAsync(List<ClickEvent> clicks)
    {
        using var activity = s_activity.StartActivity("click-stream publish", ActivityKind.Producer);
        activity?.SetTag("messaging.system", "redis");
        activity?.SetTag("messaging.destination.name", ClickStream.Key);
        activity?.SetTag("messaging.batch.message_count", clicks.Count);

        var database = redis.GetDatabase();
        var pipeline = database.CreateBatch();
        var writes = new Task[clicks.Count];
        for (var i = 0; i < clicks.Count; i++)
        {
            writes[i] = pipeline.StreamAddAsync(ClickStream.Key, clicks[i].ToStreamFields());
        }
        pipeline.Execute();
        await Task.WhenAll(writes);
    }

    [LoggerMessage(EventId = 20, EventName = "ClickPublishFailed", Level = LogLevel.Warning,
        Message = "Could not write {Count} clicks to the stream ({Error}); retrying")]
    private static partial void LogPublishFailed(ILogger logger, int count, string error);

    [LoggerMessage(EventId = 21, EventName = "ClicksAbandoned", Level = LogLevel.Error,
        Message = "Shutdown timeout reached with Redis unreachable: {Count} buffered clicks were not written")]
    private static partial void LogAbandoned(ILogger logger, int count);
}
