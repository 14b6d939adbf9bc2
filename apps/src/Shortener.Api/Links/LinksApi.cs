using System.Buffers.Binary;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Shortener.Api.Auth;
using Shortener.Api.Redirects;

namespace Shortener.Api.Links;

/// <summary>Management of links: authenticated by API key and rate limited per key, at the group.</summary>
public static class LinksApi
{
    private const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapLinksApi(this IEndpointRouteBuilder app)
    {
        var links = app.MapGroup("/api/links")
            .WithTags("Links")
            .RequireAuthorization()
            .RequireRateLimiting(RateLimiting.ManagementPolicy);

        links.MapPost("/", CreateAsync).Accepts<CreateLinkRequest>("application/json");
        links.MapGet("/", ListAsync);
        links.MapGet("/{code}", GetAsync);
        links.MapDelete("/{code}", DeleteAsync);
        links.MapGet("/{code}/stats", StatsAsync);
        return app;
    }

    public static async Task<Results<Created<LinkResponse>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateLinkRequest request, HttpContext http, LinkStore store, LinkCache cache, ApiMetrics metrics,
        IOptions<LinkOptions> options, TimeProvider time, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        string? url = null;
        if (string.IsNullOrWhiteSpace(request.Url)) errors["url"] = ["The url is required."];
        else if ((url = LinkRules.NormalizeUrl(request.Url, out var urlError)) is null) errors["url"] = [urlError!];

        if (request.Code is not null && LinkRules.ValidateCode(request.Code) is { } codeError) errors["code"] = [codeError];
        if (request.ExpiresAt is { } expiresAt && expiresAt <= time.GetUtcNow()) errors["expiresAt"] = ["The expiry must be in the future."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var createdBy = http.User.ApiKeyId();
        var permanent = request.Permanent ?? false;
        Link? link;
        if (request.Code is { } code)
        {
            link = await store.TryCreateAsync(code, url!, permanent, request.ExpiresAt, createdBy, ct);
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
                link = await store.TryCreateAsync(LinkRules.GenerateCode(options.Value.GeneratedCodeLength), url!, permanent, request.ExpiresAt, createdBy, ct);
            }
            if (link is null)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "No free code", detail: "Could not generate an unused code; retry the request.");
            }
        }

        // A create may follow a cached "unknown code" for the same code.
        await cache.InvalidateAsync(link.Code);
        metrics.LinkCreated();
        return TypedResults.Created($"/api/links/{link.Code}", ToResponse(link, http, options.Value));
    }

    public static async Task<Results<Ok<LinkResponse>, ProblemHttpResult>> GetAsync(
        string code, HttpContext http, LinkStore store, IOptions<LinkOptions> options, CancellationToken ct)
    {
        var link = LinkRules.ValidateCode(code) is null ? await store.FindAsync(code, ct) : null;
        return link is null ? NotFound(code) : TypedResults.Ok(ToResponse(link, http, options.Value));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        string code, LinkStore store, LinkCache cache, CancellationToken ct)
    {
        if (LinkRules.ValidateCode(code) is not null) return NotFound(code);
        if (!await store.DeleteAsync(code, ct) && await store.FindAsync(code, ct) is null) return NotFound(code);
        await cache.InvalidateAsync(code);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<LinkPage>, ValidationProblem>> ListAsync(
        HttpContext http, LinkStore store, IOptions<LinkOptions> options, CancellationToken ct,
        int? limit = null, string? cursor = null)
    {
        var size = limit ?? 20;
        if (size is < 1 or > MaxPageSize)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"Between 1 and {MaxPageSize}."] });
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
        var (items, next) = await store.ListAsync(before, size, ct);
        return TypedResults.Ok(new LinkPage(
            items.Select(link => ToResponse(link, http, options.Value)).ToList(),
            next is { } n ? EncodeCursor(n) : null));
    }

    public static async Task<Results<Ok<LinkStats>, ValidationProblem, ProblemHttpResult>> StatsAsync(
        string code, LinkStore store, TimeProvider time, CancellationToken ct, int? days = null)
    {
        var window = days ?? 30;
        if (window is < 1 or > 366)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["days"] = ["Between 1 and 366."] });
        }
        if (LinkRules.ValidateCode(code) is not null || await store.FindAsync(code, ct) is null) return NotFound(code);

        var since = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(1 - window);
        var (total, perDay) = await store.ClicksAsync(code, since, ct);
        return TypedResults.Ok(new LinkStats(code, total, perDay));
    }

    private static ProblemHttpResult NotFound(string code) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Link not found",
            detail: LinkRules.ValidateCode(code) is null ? $"No link has the code '{code}'." : "No link has this code.");

    private static LinkResponse ToResponse(Link link, HttpContext http, LinkOptions options)
    {
        var baseUrl = string.IsNullOrEmpty(options.PublicBaseUrl)
            ? $"{http.Request.Scheme}://{http.Request.Host}"
            : options.PublicBaseUrl.TrimEnd('/');
        return new LinkResponse(link.Code, link.TargetUrl, $"{baseUrl}/{link.Code}", link.Permanent,
            link.CreatedAt, link.ExpiresAt, link.DeletedAt);
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
