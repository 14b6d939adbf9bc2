using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Shortener.Api.Problems;

/// <summary>
/// Refusals that must happen before any endpoint runs, both found by the generated abuse test:
/// <list type="bullet">
/// <item>A declared body over <see cref="ApiServices.MaxRequestBodyBytes"/>: 413 at once, with "Connection: close". Left to
/// an endpoint that does not read the body (a 401, 404 or 405), Kestrel would answer on a keep-alive connection, then
/// find the body too large while draining it and drop the connection under the client's next request.</item>
/// <item>A body in a charset .NET does not know ("application/json; charset=x"): the JSON reader would throw a plain
/// InvalidOperationException, a 500. 415 instead.</item>
/// </list>
/// </summary>
public static class RequestGuards
{
    public static WebApplication UseRequestGuards(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength > ApiServices.MaxRequestBodyBytes)
            {
                context.Response.Headers.Connection = "close";
                return RefuseAsync(context, StatusCodes.Status413PayloadTooLarge, "Request body too large",
                    $"Request bodies are at most {ApiServices.MaxRequestBodyBytes} bytes.");
            }
            if (request.ContentType is { } contentType
                && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                && mediaType.Charset is { Length: > 0 } charset
                && !IsKnown(charset.Value!))
            {
                return RefuseAsync(context, StatusCodes.Status415UnsupportedMediaType, "Unsupported charset",
                    "Send the body as UTF-8 (application/json; charset=utf-8).");
            }
            return next(context);
        });
        return app;
    }

    private static async Task RefuseAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    private static bool IsKnown(string charset)
    {
        try
        {
            Encoding.GetEncoding(charset.Trim('"'));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
