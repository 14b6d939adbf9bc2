using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc;

namespace Shortener.Api.Problems;

public static class ProblemDetailsSetup
{
    /// <summary>
    /// Every error leaves as RFC 7807 application/problem+json with a trace id. Bad requests detected by
    /// the framework (malformed JSON, wrong types, oversized bodies) keep their 4xx status and say what was
    /// wrong; anything else is a 500 whose details stay in the logs.
    /// </summary>
    public static IServiceCollection AddProblemDetailsForApi(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            context.ProblemDetails.Instance ??= context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions["traceId"] = Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier;
        });
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<ConstraintViolationHandler>();
        services.AddExceptionHandler<DependencyUnavailableHandler>();
        // Binding failures throw instead of answering an empty 400, so the handler below can say what was wrong.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }
}

/// <summary>Turns the framework's BadHttpRequestException into a 4xx problem; being handled, it is not logged as an error.</summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest) return false;

        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = badRequest.StatusCode,
                Title = badRequest.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Malformed request",
                Detail = Describe(badRequest),
            },
        });
    }

    private static string Describe(BadHttpRequestException badRequest) => badRequest.InnerException switch
    {
        // The JSON reader's message names the path and position; it never echoes the payload.
        JsonException json => $"The request body is not valid JSON for this endpoint: {json.Message}",
        BadHttpRequestException inner => inner.Message,
        _ => badRequest.Message,
    };
}
