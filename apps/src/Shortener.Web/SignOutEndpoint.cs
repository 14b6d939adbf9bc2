using Microsoft.AspNetCore.Antiforgery;

namespace Shortener.Web;

public static class SignOutEndpoint
{
    /// <summary>POST /signout from the header's form (anti-forgery checked: a cross-site post cannot sign a user out).</summary>
    public static IEndpointRouteBuilder MapSignOut(this IEndpointRouteBuilder app)
    {
        app.MapPost("/signout", async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http)) return Results.BadRequest();
            await ConsoleSession.SignOutAsync(http);
            return Results.Redirect("/signin");
        }).DisableAntiforgery();
        return app;
    }
}
