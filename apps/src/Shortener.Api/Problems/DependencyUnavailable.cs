using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Shortener.Api.Problems;

public sealed class DependencyUnavailableException(string dependency, Exception inner)
    : Exception($"{dependency} is unavailable.", inner)
{
    public string Dependency { get; } = dependency;
}

/// <summary>
/// PostgreSQL down, unreachable or out of pooled connections: answer 503 with Retry-After at once
/// (Npgsql's connect and command timeouts bound the wait) instead of a 500.
/// </summary>
internal sealed partial class DependencyUnavailableHandler(IProblemDetailsService problems, ILogger<DependencyUnavailableHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var dependency = exception switch
        {
            DependencyUnavailableException unavailable => unavailable.Dependency,
            PostgresException postgres when !postgres.IsTransient => null,
            NpgsqlException => "PostgreSQL",
            TimeoutException => "a dependency",
            _ => null,
        };
        if (dependency is null) return false;

        LogUnavailable(logger, dependency, exception.GetBaseException().GetType().Name);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Service temporarily unavailable",
                Detail = $"{dependency} is not answering; retry after {RetryAfterSeconds} seconds.",
            },
        });
    }

    [LoggerMessage(EventId = 40, EventName = "DependencyUnavailable", Level = LogLevel.Warning,
        Message = "Answered 503: {Dependency} unavailable ({Error})")]
    private static partial void LogUnavailable(ILogger logger, string dependency, string error);
}
