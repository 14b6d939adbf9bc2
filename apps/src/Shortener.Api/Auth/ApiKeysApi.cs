using Microsoft.AspNetCore.Http.HttpResults;

namespace Shortener.Api.Auth;

public sealed record CreateApiKeyRequest(string? Name, bool? Admin);

/// <summary>Admin-only key management. A new key is returned once; only its hash is stored.</summary>
public static class ApiKeysApi
{
    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys")
            .WithTags("API keys")
            .RequireAuthorization(ApiKeyAuthentication.AdminPolicy)
            .RequireRateLimiting(RateLimiting.ManagementPolicy);

        keys.MapPost("/", CreateAsync).Accepts<CreateApiKeyRequest>("application/json");
        keys.MapDelete("/{id:long}", RevokeAsync);
        return app;
    }

    public static async Task<Results<Created<CreatedApiKey>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        CreateApiKeyRequest request, ApiKeyStore keys, CancellationToken ct)
    {
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 64 || name.Any(char.IsControl))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["1 to 64 printable characters."] });
        }
        var created = await keys.CreateAsync(name, request.Admin ?? false, ct);
        return created is null
            ? TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Name taken", detail: "An active key already has this name.")
            : TypedResults.Created($"/api/keys/{created.Id}", created);
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(long id, ApiKeyStore keys, CancellationToken ct) =>
        await keys.RevokeAsync(id, ct)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Key not found");
}
