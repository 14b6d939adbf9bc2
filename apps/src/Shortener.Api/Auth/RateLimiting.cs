using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace Shortener.Api.Auth;

/// <summary>
/// The built-in rate limiter: per API key for management, per client address (IPv6 per /64) for anonymous callers
/// and redirects.
/// </summary>
public static class RateLimiting
{
    public const string ManagementPolicy = "management";
    public const string RedirectPolicy = "redirect";

    public static IServiceCollection AddApiRateLimiting(this IServiceCollection services)
    {
        services.AddSingleton<RejectionTarpit>();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = WriteRejectionAsync;

            limiter.AddPolicy<string>(ManagementPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
                if (limits.ManagementPerMinute == 0) return RateLimitPartition.GetNoLimiter("off");
                // Authenticated callers get the limit per key; unauthenticated ones (about to get a 401) share one per IP.
                var partition = context.User.ApiKeyId() is { } keyId ? $"key:{keyId}" : $"ip:{context.ClientPartition()}";
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.ManagementPerMinute,
                    TokensPerPeriod = Math.Max(1, limits.ManagementPerMinute / 60),
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });

            limiter.AddPolicy<System.Net.IPAddress>(RedirectPolicy, context =>
            {
                var limits = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<RateLimitOptions>>().Value;
                if (limits.RedirectsPerSecond == 0) return RateLimitPartition.GetNoLimiter(System.Net.IPAddress.None);
                return RateLimitPartition.GetTokenBucketLimiter(context.ClientPartition(), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limits.RedirectsPerSecond * 2,
                    TokensPerPeriod = limits.RedirectsPerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });
        return services;
    }

    private static async ValueTask WriteRejectionAsync(OnRejectedContext context, CancellationToken ct)
    {
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
        var http = context.HttpContext;
        if (!await http.RequestServices.GetRequiredService<RejectionTarpit>().WaitAsync(ct)) return;
        http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many requests",
                Detail = $"Rate limit exceeded; retry after {retryAfter} seconds.",
            },
        });
    }
}

/// <summary>Holds rejected requests for <see cref="RateLimitOptions.RejectionDelay"/>, at most <see cref="RateLimitOptions.MaxDelayedRejections"/> at once.</summary>
internal sealed class RejectionTarpit(Microsoft.Extensions.Options.IOptions<RateLimitOptions> options)
{
    private int _waiting;

    /// <summary>False when the client went away while waiting: there is no one left to answer.</summary>
    public async Task<bool> WaitAsync(CancellationToken ct)
    {
        var limits = options.Value;
        if (limits.RejectionDelay <= TimeSpan.Zero) return true;
        if (Interlocked.Increment(ref _waiting) > limits.MaxDelayedRejections)
        {
            Interlocked.Decrement(ref _waiting);
            return true;
        }
        try
        {
            await Task.Delay(limits.RejectionDelay, ct);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
