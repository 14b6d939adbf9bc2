using System.Text;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace Shortener.Api.Problems;

/// <summary>
/// A body declared in a charset .NET does not know ("application/json; charset=x") makes the JSON
/// reader throw a plain InvalidOperationException, which would surface as a 500. Refuse it up front
/// with 415 instead. (Found by the generated abuse test.)
/// </summary>
public static class UnsupportedCharset
{
    public static WebApplication UseCharsetCheck(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            var contentType = context.Request.ContentType;
            if (contentType is not null
                && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
                && mediaType.Charset is { Length: > 0 } charset
                && !IsKnown(charset.Value!))
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status415UnsupportedMediaType,
                        Title = "Unsupported charset",
                        Detail = "Send the body as UTF-8 (application/json; charset=utf-8).",
                    },
                });
                return;
            }
            await next(context);
        });
        return app;
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
