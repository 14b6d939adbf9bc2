using StackExchange.Redis;

namespace Shortener.Api.Redirects;

/// <summary>
/// Keeps every replica's in-process cache honest: deletes and creates published by any replica on
/// <see cref="LinkCache.InvalidationChannel"/> ("version|code") evict the code here. StackExchange.Redis re-subscribes after
/// a reconnect by itself; messages missed while Redis was down are bounded by the short local TTL.
/// </summary>
public sealed partial class LinkInvalidationListener(IConnectionMultiplexer redis, LinkCache cache, ILogger<LinkInvalidationListener> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var channel = RedisChannel.Literal(LinkCache.InvalidationChannel);
        var subscribed = false;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                if (!subscribed)
                {
                    try
                    {
                        await redis.GetSubscriber().SubscribeAsync(channel, (_, message) =>
                        {
                            if (LinkCache.ParseAnnouncement(message) is var (code, version)) cache.ForgetLocally(code, version);
                        });
                        subscribed = true;
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        LogSubscribeFailed(logger, ex.GetType().Name);
                    }
                }
                await cache.RetryPendingInvalidationsAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(EventId = 11, EventName = "InvalidationSubscribeFailed", Level = LogLevel.Warning,
        Message = "Could not subscribe to link invalidations ({Error}); retrying")]
    private static partial void LogSubscribeFailed(ILogger logger, string error);
}
