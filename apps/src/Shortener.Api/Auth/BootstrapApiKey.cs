using Microsoft.Extensions.Options;
using Npgsql;

namespace Shortener.Api.Auth;

/// <summary>
/// Stores the configured first admin key (from Auth:BootstrapApiKeyFile or Auth:BootstrapApiKey) at start-up.
/// It retries in the background, so the API starts (and reports not-ready) while PostgreSQL is still coming up.
/// </summary>
public sealed partial class BootstrapApiKey(ApiKeyStore keys, IOptions<AuthOptions> options, ILogger<BootstrapApiKey> logger)
    : BackgroundService
{
    public const int MinimumLength = 32;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var key = ReadConfiguredKey(options.Value);
        if (key is null)
        {
            LogNoBootstrapKey(logger);
            return;
        }
        if (key.Length < MinimumLength)
        {
            throw new InvalidOperationException($"The bootstrap API key must be at least {MinimumLength} characters.");
        }

        for (var delay = TimeSpan.FromMilliseconds(200); !stoppingToken.IsCancellationRequested; delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks)))
        {
            try
            {
                await keys.EnsureBootstrapKeyAsync(key, stoppingToken);
                LogStored(logger);
                return;
            }
            catch (NpgsqlException ex)
            {
                LogRetry(logger, ex.GetType().Name, delay);
                await Task.Delay(delay, stoppingToken);
            }
        }
    }

    private static string? ReadConfiguredKey(AuthOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.BootstrapApiKeyFile))
        {
            return File.ReadAllText(options.BootstrapApiKeyFile).Trim();
        }
        return string.IsNullOrWhiteSpace(options.BootstrapApiKey) ? null : options.BootstrapApiKey.Trim();
    }

    [LoggerMessage(EventId = 30, EventName = "BootstrapKeyStored", Level = LogLevel.Information, Message = "Bootstrap admin API key is active")]
    private static partial void LogStored(ILogger logger);

    [LoggerMessage(EventId = 31, EventName = "BootstrapKeyRetry", Level = LogLevel.Warning, Message = "Could not store the bootstrap API key ({Error}); retrying in {Delay}")]
    private static partial void LogRetry(ILogger logger, string error, TimeSpan delay);

    [LoggerMessage(EventId = 32, EventName = "NoBootstrapKey", Level = LogLevel.Information, Message = "No bootstrap API key configured (Auth:BootstrapApiKeyFile or Auth:BootstrapApiKey)")]
    private static partial void LogNoBootstrapKey(ILogger logger);
}
