using System.Buffers.Binary;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Shortener.Api.Auth;
using Shortener.Api.Redirects;

namespace Shortener.Api.Links;

/// <summary>
/// Management of links: authenticated by API key and rate limited per key, at the group. A key sees and changes only
/// its owner's links (another owner's link answers 404, never 403, so codes cannot be probed); admin keys see all.
/// </summary>
public static class LinksApi
{
    private const int MaxPageSize = 100;
    private const int MaxQueryLength = 100;

    public static IEndpointRouteBuilder MapLinksApi(this IEndpointRouteBuilder app)
    {
        var links = app.MapGroup("/api/links")
            .WithTags("Links")
            .RequireAuthorization()
            .RequireRateLimiting(RateLimiting.ManagementPolicy);

        links.MapPost("/", CreateAsync).Accepts<CreateLinkRequest>("application/json");
        links.MapGet("/", ListAsync);
        links.MapGet("/{code}", GetAsync);
        links.MapPatch("/{code}", UpdateAsync).Accepts<UpdateLinkRequest>("application/json");
        links.MapDelete("/{code}", DeleteAsync);
        links.MapGet("/{code}/stats", StatsAsync);
        return app;
    }

    public static async Task<Results<Created<LinkResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateLinkRequest request, HttpContext http, LinkStore store, LinkCache cache, ApiMetrics metrics,
        IOptions<LinkOptions> options, TimeProvider time, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var url = ValidateUrl(request.Url, required: true, http, options.Value, errors);
        if (request.Code is not null && LinkRules.ValidateCode(request.Code) is { } codeError) errors["code"] = [codeError];
        if (request.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow()) errors["expiresAt"] = ["The expiry must be in the future."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var createdBy = http.User.ApiKeyId();
        var owner = http.User.FindFirst(ApiKeyAuthenticationHandler.OwnerClaim)?.Value;
        var permanent = request.Permanent ?? false;
        Link? link;
        if (request.Code is { } code)
        {
            link = await store.TryCreateAsync(code, url!, permanent, request.ExpiresAt, createdBy, owner, ct);
            if (link is null)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict,
                    title: "Code already taken", detail: $"The code '{code}' is already in use.");
            }
        }
        else
        {
            // A generated code colliding is rare (62^8 space) but never silent: try fresh ones.
            link = null;
            for (var attempt = 0; attempt < 5 && link is null; attempt++)
            {
                link = await store.TryCreateAsync(LinkRules.GenerateCode(options.Value.GeneratedCodeLength), url!, permanent,
                    request.ExpiresAt, createdBy, owner, ct);
            }
            if (link is null)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "No free code", detail: "Could not generate an unused code; retry the request.");
            }
        }

        // A create may follow a cached "unknown code" for the same code: every replica learns the new state.
        await cache.PublishAsync(link.Code, ToTarget(link));
        metrics.LinkCreated();
        return TypedResults.Created($"/api/links/{link.Code}", ToResponse(link, http, options.Value));
    }

    public static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> GetAsync(
        string code, HttpContext http, LinkStore store, IOptions<LinkOptions> options, CancellationToken ct)
    {
        var link = LinkRules.ValidateCode(code) is null ? await store.FindAsync(code, http.User.OwnerScope(), ct) : null;
        return link is null ? NotFound(code) : TypedResults.Ok(ToResponse(link, http, options.Value));
    }

    public static async Task<Results<Ok<LinkResponse>, ValidationProblem, ProblemHttpResult>> UpdateAsync(
        string code, UpdateLinkRequest request, HttpContext http, LinkStore store, LinkCache cache,
        IOptions<LinkOptions> options, TimeProvider time, CancellationToken ct)
    {
        if (LinkRules.ValidateCode(code) is not null) return NotFound(code);
        var errors = new Dictionary<string, string[]>();
        var url = ValidateUrl(request.Url, required: false, http, options.Value, errors);
        if (request.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow()) errors["expiresAt"] = ["The expiry must be in the future."];
        if (request is { ClearExpiry: true, ExpiresAt: not null }) errors["clearExpiry"] = ["Either set an expiry or clear it, not both."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var link = await store.UpdateAsync(code, http.User.OwnerScope(), url, request.ClearExpiry ?? false, request.ExpiresAt, request.Permanent, ct);
        if (link is null) return NotFound(code);
        await cache.PublishAsync(link.Code, ToTarget(link));
        return TypedResults.Ok(ToResponse(link, http, options.Value));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string code, HttpContext http, LinkStore store, LinkCache cache, CancellationToken ct)
    {
        if (LinkRules.ValidateCode(code) is not null) return NotFound(code);
        var owner = http.User.OwnerScope();
        var deleted = await store.DeleteAsync(code, owner, ct);
        if (deleted is null)
        {
            // Deleting twice is fine (idempotent); deleting what the caller cannot see is not found.
            return await store.FindAsync(code, owner, ct) is null ? NotFound(code) : TypedResults.NoContent();
        }
        await cache.PublishAsync(code, ToTarget(deleted));
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<LinkPage>, ValidationProblem>> ListAsync(
        HttpContext http, LinkStore store, IOptions<LinkOptions> options, CancellationToken ct,
        int? limit = null, string? cursor = null, string? q = null)
    {
        var size = limit ?? 20;
        if (size is < 1 or > MaxPageSize)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"Between 1 and {MaxPageSize}."] });
        }
        // Present means 1-100 characters: "?q=" is a mistake, not "no filter". Control characters (NUL in particular, which
        // PostgreSQL refuses in text) can be in neither a code nor a stored URL, so they are refused rather than sent.
        if (q is not null && (q.Length is < 1 or > MaxQueryLength || q.AsSpan().ContainsAnyInRange('\0', '\u001f') || q.Contains('\u007f')))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["q"] = [$"Between 1 and {MaxQueryLength} characters, no control characters."],
            });
        }
        long? before = null;
        if (cursor is not null)
        {
            if (DecodeCursor(cursor) is not { } id)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = ["Not a cursor returned by this API."] });
            }
            before = id;
        }
        // The cursor is the last id of the previous page, as without q: the filter only skips rows, the order stays id DESC.
        var (items, next) = await store.ListAsync(http.User.OwnerScope(), before, size, q, ct);
        return TypedResults.Ok(new LinkPage(
            items.Select(link => ToResponse(link, http, options.Value)).ToList(),
            next is { } n ? EncodeCursor(n) : null));
    }

    public static async Task<Results<Ok<LinkStats>, ValidationProblem, ProblemHttpResult>> StatsAsync(
        string code, HttpContext http, LinkStore store, TimeProvider time, CancellationToken ct, int? days = null)
    {
        var window = days ?? 30;
        if (window is < 1 or > 366)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["days"] = ["Between 1 and 366."] });
        }
        if (LinkRules.ValidateCode(code) is not null || await store.FindAsync(code, http.User.OwnerScope(), ct) is null) return NotFound(code);

        var since = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(1 - window);
        var clicks = await store.ClicksAsync(code, since, ct);
        return TypedResults.Ok(new LinkStats(code, clicks.Total, clicks.Days, clicks.ByReferrer, clicks.ByBrowser));
    }

    /// <summary>The normalized URL, or null with the reason in <paramref name="errors"/> (or null and no error when optional and absent).</summary>
    private static string? ValidateUrl(string? requested, bool required, HttpContext http, LinkOptions options, Dictionary<string, string[]> errors)
    {
        if (requested is null && !required) return null;
        if (string.IsNullOrWhiteSpace(requested))
        {
            errors["url"] = ["The url is required."];
            return null;
        }
        var url = LinkRules.NormalizeUrl(requested, out var urlError);
        if (url is null)
        {
            errors["url"] = [urlError!];
            return null;
        }
        if (LinkRules.PointsAt(url, ServiceHosts(http, options)))
        {
            errors["url"] = ["The URL points at this service itself: it would redirect to itself."];
            return null;
        }
        return url;
    }

    /// <summary>The hosts short links are served on: the configured public base URL's and the one this request came to.</summary>
    private static IEnumerable<string> ServiceHosts(HttpContext http, LinkOptions options)
    {
        if (!string.IsNullOrEmpty(options.PublicBaseUrl) && Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var publicBase))
        {
            yield return publicBase.IdnHost;
        }
        if (http.Request.Host.HasValue) yield return http.Request.Host.Host;
    }

    private static LinkTarget ToTarget(Link link) => new(link.TargetUrl, link.Permanent, link.ExpiresAt, link.DeletedAt is not null, link.Version);

    private static ProblemHttpResult NotFound(string code) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Link not found",
            detail: LinkRules.ValidateCode(code) is null ? $"No link has the code '{code}'." : "No link has this code.");

    private static LinkResponse ToResponse(Link link, HttpContext http, LinkOptions options)
    {
        var baseUrl = string.IsNullOrEmpty(options.PublicBaseUrl)
            ? $"{http.Request.Scheme}://{http.Request.Host}"
            : options.PublicBaseUrl.TrimEnd('/');
        return new LinkResponse(link.Code, link.TargetUrl, $"{baseUrl}/{link.Code}", link.Permanent,
            link.CreatedAt, link.ExpiresAt, link.DeletedAt, link.Owner);
    }

    private static string EncodeCursor(long id)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, id);
        return WebEncoders.Base64UrlEncode(bytes);
    }

    private static long? DecodeCursor(string cursor)
    {
        if (cursor.Length != 11) return null;
        try
        {
            var bytes = WebEncoders.Base64UrlDecode(cursor);
            return bytes.Length == 8 && BinaryPrimitives.ReadInt64BigEndian(bytes) is > 0 and var id ? id : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
