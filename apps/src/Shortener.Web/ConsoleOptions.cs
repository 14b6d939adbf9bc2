using System.ComponentModel.DataAnnotations;

namespace Shortener.Web;

public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>Where the console reaches the API (inside the network: compose's http://api:8080, the AppHost's loopback port).</summary>
    [Required, Url]
    public string ApiBaseUrl { get; set; } = "";

    /// <summary>How long a sign-in lasts without use. The session cookie also ends with the browser session.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);
}
