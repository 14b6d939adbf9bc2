using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Components;

namespace Shortener.Web.Components;

/// <summary>A page of a signed-in user: the key to call the API with, and what to do when the API no longer accepts it.</summary>
[Authorize]
public abstract class ConsolePage : ComponentBase
{
    [CascadingParameter] protected HttpContext HttpContext { get; set; } = default!;
    [Inject] protected ShortenerApi Api { get; set; } = default!;
    [Inject] protected NavigationManager Navigation { get; set; } = default!;

    protected string Key => HttpContext.User.ApiKey();
    protected CancellationToken Aborted => HttpContext.RequestAborted;

    /// <summary>A key revoked since sign-in ends the session; any other problem is for the page to show.</summary>
    protected async Task<bool> SessionEndedAsync(ApiProblem? problem)
    {
        if (problem?.Status != StatusCodes.Status401Unauthorized) return false;
        await ConsoleSession.SignOutAsync(HttpContext);
        Navigation.NavigateTo("/signin");
        return true;
    }

    protected static string Utc(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "never";
}
