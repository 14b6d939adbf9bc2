using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.WebUtilities;

namespace Shortener.Web;

public sealed record LinkItem(string Code, string Url, string ShortUrl, bool Permanent, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? DeletedAt, string? Owner);

public sealed record LinkPage(IReadOnlyList<LinkItem> Items, string? NextCursor);

public sealed record DailyClicks(DateOnly Day, long Clicks);

public sealed record ReferrerClicks(string? Referrer, long Clicks);

public sealed record BrowserClicks(string Browser, long Clicks);

/// <summary>The stats of one link; the breakdowns are absent (null) from an API that does not serve them.</summary>
public sealed record LinkStats(string Code, long TotalClicks, IReadOnlyList<DailyClicks> Days,
    IReadOnlyList<ReferrerClicks>? ByReferrer, IReadOnlyList<BrowserClicks>? ByBrowser);

public sealed record ApiKeyInfo(long Id, string Name, string Owner, bool Admin, DateTimeOffset CreatedAt);

public sealed record CreatedApiKey(long Id, string Name, string Owner, bool Admin, string Key);

/// <summary>An RFC 7807 answer of the API, shown to the user as it came (title, detail, per-field errors).</summary>
public sealed record ApiProblem(int Status, string Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors)
{
    public string Message => Detail is { Length: > 0 } detail ? $"{Title}: {detail}" : Title;
}

/// <summary>What an API call returned: the value, or the problem.</summary>
public readonly record struct ApiResult<T>(T? Value, ApiProblem? Problem)
{
    public bool Succeeded => Problem is null;
}

/// <summary>
/// The console's only way to the system: the public HTTP API, called with the signed-in user's key, so the console
/// can do exactly what the key may do and nothing more. The user's address is passed on for the API's per-client
/// failed-authentication limit (the API trusts it only from the console's network).
/// </summary>
public sealed class ShortenerApi(HttpClient http, IHttpContextAccessor context)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Checks a key: whether it is valid, and whether it is an admin key.</summary>
    public async Task<ApiResult<bool>> CheckKeyAsync(string key, CancellationToken ct)
    {
        var links = await SendAsync<LinkPage>(HttpMethod.Get, "/api/links?limit=1", null, key, ct);
        if (!links.Succeeded) return new(false, links.Problem);
        using var request = Request(HttpMethod.Get, "/api/keys", null, key);
        using var response = await http.SendAsync(request, ct);
        return new(response.IsSuccessStatusCode, null);
    }

    public Task<ApiResult<LinkPage>> ListLinksAsync(string key, string? query, string? cursor, int limit, CancellationToken ct)
    {
        var parameters = new Dictionary<string, string?> { ["limit"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (!string.IsNullOrEmpty(query)) parameters["q"] = query;
        if (!string.IsNullOrEmpty(cursor)) parameters["cursor"] = cursor;
        return SendAsync<LinkPage>(HttpMethod.Get, QueryHelpers.AddQueryString("/api/links", parameters), null, key, ct);
    }

    public Task<ApiResult<LinkItem>> CreateLinkAsync(string key, string url, string? code, DateTimeOffset? expiresAt, bool permanent, CancellationToken ct) =>
        SendAsync<LinkItem>(HttpMethod.Post, "/api/links", new { url, code, expiresAt, permanent }, key, ct);

    public Task<ApiResult<LinkItem>> GetLinkAsync(string key, string code, CancellationToken ct) =>
        SendAsync<LinkItem>(HttpMethod.Get, "/api/links/" + Uri.EscapeDataString(code), null, key, ct);

    public Task<ApiResult<LinkStats>> StatsAsync(string key, string code, int days, CancellationToken ct) =>
        SendAsync<LinkStats>(HttpMethod.Get, $"/api/links/{Uri.EscapeDataString(code)}/stats?days={days}", null, key, ct);

    public Task<ApiResult<bool>> DeleteLinkAsync(string key, string code, CancellationToken ct) =>
        SendAsync<bool>(HttpMethod.Delete, "/api/links/" + Uri.EscapeDataString(code), null, key, ct);

    public Task<ApiResult<List<ApiKeyInfo>>> ListKeysAsync(string key, CancellationToken ct) =>
        SendAsync<List<ApiKeyInfo>>(HttpMethod.Get, "/api/keys", null, key, ct);

    public Task<ApiResult<CreatedApiKey>> CreateKeyAsync(string key, string name, string? owner, bool admin, CancellationToken ct) =>
        SendAsync<CreatedApiKey>(HttpMethod.Post, "/api/keys", new { name, owner, admin }, key, ct);

    public Task<ApiResult<bool>> RevokeKeyAsync(string key, long id, CancellationToken ct) =>
        SendAsync<bool>(HttpMethod.Delete, "/api/keys/" + id.ToString(System.Globalization.CultureInfo.InvariantCulture), null, key, ct);

    private HttpRequestMessage Request(HttpMethod method, string path, object? body, string key)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (context.HttpContext?.Connection.RemoteIpAddress is { } client)
        {
            request.Headers.Add("X-Forwarded-For", client.ToString());
        }
        if (body is not null) request.Content = JsonContent.Create(body, options: s_json);
        return request;
    }

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, string key, CancellationToken ct)
    {
        using var request = Request(method, path, body, key);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return new(default, new ApiProblem(503, "The API is not reachable", "Try again in a moment.", new Dictionary<string, string[]>()));
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                if (typeof(T) == typeof(bool)) return new((T)(object)true, null);
                return new(await response.Content.ReadFromJsonAsync<T>(s_json, ct), null);
            }
            return new(default, await ReadProblemAsync(response, ct));
        }
    }

    private static async Task<ApiProblem> ReadProblemAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var status = (int)response.StatusCode;
        var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        string title = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => "The API key was not accepted",
            HttpStatusCode.TooManyRequests => "Too many requests",
            _ => response.ReasonPhrase ?? "The request failed",
        };
        string? detail = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            try
            {
                using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
                var root = json.RootElement;
                if (root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String) title = t.GetString()!;
                if (root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String) detail = d.GetString();
                if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
                {
                    foreach (var field in e.EnumerateObject())
                    {
                        errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                            ? [.. field.Value.EnumerateArray().Select(m => m.ToString())]
                            : [field.Value.ToString()];
                    }
                }
            }
            catch (JsonException)
            {
                // A problem we cannot read is still a problem: the status and reason say enough.
            }
        }
        return new ApiProblem(status, title, detail, errors);
    }
}
