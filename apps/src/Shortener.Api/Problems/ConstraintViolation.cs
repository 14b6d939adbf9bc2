using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace Shortener.Api.Problems;

/// <summary>
/// The safety net behind input validation: a value PostgreSQL refuses (SQLSTATE class 23, integrity: check, unique,
/// foreign key; class 22, data: too long, bad encoding, out of range) answers 409 (unique) or 400, never 500, and
/// nothing is stored. Reaching it means validation let something through, so it is logged as a warning with the
/// constraint's name: the generated abuse test fails on any such record.
/// </summary>
internal sealed partial class ConstraintViolationHandler(IProblemDetailsService problems, ILogger<ConstraintViolationHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not PostgresException { SqlState: ['2', '2' or '3', ..] } postgres) return false;

        var status = postgres.SqlState == PostgresErrorCodes.UniqueViolation ? StatusCodes.Status409Conflict : StatusCodes.Status400BadRequest;
        LogViolation(logger, postgres.ConstraintName ?? "-", postgres.TableName ?? "-", postgres.SqlState, exception);
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = status == StatusCodes.Status409Conflict ? "Conflict" : "Invalid value",
                Detail = status == StatusCodes.Status409Conflict
                    ? "The request conflicts with data that already exists."
                    : "A value in the request is not acceptable.",
            },
        });
    }

    [LoggerMessage(EventId = 41, EventName = "ConstraintViolation", Level = LogLevel.Warning,
        Message = "PostgreSQL refused a value that validation let through: constraint {Constraint} on {Table} (SQLSTATE {SqlState})")]
    private static partial void LogViolation(ILogger logger, string constraint, string table, string sqlState, Exception exception);
}
