using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Links;

public sealed class LinkOptions
{
    public const string Section = "Links";

    /// <summary>Base of the short URLs returned by the API, e.g. https://sho.rt. Empty: the request's own scheme and host.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Length of generated codes: 62^8 ≈ 2.2e14 possibilities, far too many to enumerate.</summary>
    [Range(6, 32)]
    public int GeneratedCodeLength { get; set; } = 8;
}
