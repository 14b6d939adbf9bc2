using Microsoft.AspNetCore.Http.HttpResults;

namespace Shortener.Api.Auth;

public sealed record CreateApiKeyRequest(string? Name, string? Owner, bool? Admin);

/// <summary>
/// Admin-only key management. A new key is returned once; only its hash is stored. A key acts for an owner (default:
/// its name): to rotate a key, revoke it and create a new one for the same owner, which keeps the owner's links.
/// </summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys")
            .WithTags("API keys")
            .RequireAuthorization(ApiKeyAuthentication.AdminPolicy)
            .RequireRateLimiting(RateLimiting.ManagementPolicy);

        keys.MapGet("/", ListAsync);
        keys.MapPost("/", CreateAsync).Accepts<CreateApiKeyRequest>("application/json");
        keys.MapDelete("/{id:long}", RevokeAsync);
        return app;
    }

    public static async Task<Ok<IReadOnlyList<ApiKeyInfo>>> ListAsync(ApiKeyStore keys, CancellationToken ct) =>
        TypedResults.Ok(await keys.ListAsync(ct));

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateApiKeyRequest request, ApiKeyStore keys, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var name = request.Name?.Trim();
        if (!IsPrintable(name)) errors["name"] = ["1 to 64 printable characters."];
        var owner = request.Owner is null ? name : request.Owner.Trim();
        if (request.Owner is not null && !IsPrintable(owner)) errors["owner"] = ["1 to 64 printable characters."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);

        var created = await keys.CreateAsync(name!, owner!, request.Admin ?? false, ct);
        return created is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Name taken", detail: "An active key already has this name.")
            : TypedResults.Created($"/api/keys/{created.Id}", created);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(long id, ApiKeyStore keys, CancellationToken ct) =>
        await keys.RevokeAsync(id, ct)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Key not found");

    /// <summary>1 to 64 characters; no control or format (zero-width, bidi) characters and no unpaired surrogate.</summary>
    private static bool IsPrintable(string? value)
    {
        if (value is not { Length: >= 1 and <= 64 }) return false;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) { i++; continue; }
            if (char.IsControl(c) || char.IsSurrogate(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format) return false;
        }
        return true;
    }
}
