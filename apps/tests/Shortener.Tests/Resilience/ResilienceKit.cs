using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Resilience;

/// <summary>
/// The resilience tests load both cores (API process, PostgreSQL, Redis and the load generator), and their
/// assertions are about latencies: they run alone, one after the other, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResilienceCollection
{
    public const string Name = "Resilience";
}

/// <summary>Helpers shared by the resilience tests: the API as a process, seeded links, requests, /metrics.</summary>
internal static class ResilienceKit
{
    /// <summary>The settings every API process of these tests gets; <paramref name="extra"/> adds or overrides.</summary>
    public static Dictionary<string, string> ApiEnvironment(string postgres, string redis, IDictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__postgres"] = postgres,
            ["ConnectionStrings__redis"] = redis,
            ["Auth__BootstrapApiKey"] = ApiFactory.BootstrapKey,
            ["Shutdown__DrainDelay"] = "00:00:00",
            ["RateLimits__RedirectsPerSecond"] = "0",
            ["RateLimits__ManagementPerMinute"] = "0",
            // Warnings and errors only: the load would otherwise fill the (discarded) stdout with request logs.
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) environment[key] = value;
        return environment;
    }

    /// <summary>Starts the API as a process and waits until it is ready and its bootstrap key is stored.</summary>
    public static async Task<ServiceProcess> StartApiAsync(Dictionary<string, string> environment)
    {
        var api = await ServiceProcess.StartAsync("Shortener.Api", environment);
        await ApiFactory.WaitForBootstrapKeyAsync(environment["ConnectionStrings__postgres"], TimeSpan.FromSeconds(20));
        using var client = AuthenticatedClient(api);
        await LocalProcess.WaitUntilAsync(async () => (await client.GetAsync("/api/links?limit=1")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(20), "the API to accept the bootstrap key");
        return api;
    }

    public static HttpClient AuthenticatedClient(ServiceProcess api)
    {
        var client = api.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.BootstrapKey);
        return client;
    }

    /// <summary>Inserts <paramref name="count"/> links straight into the table (far faster than the API) and returns their codes.</summary>
    public static async Task<string[]> SeedLinksAsync(string postgres, string prefix, int count)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            INSERT INTO links (code, target_url)
            SELECT @prefix || lpad(i::text, 6, '0'), 'https://example.com/' || i FROM generate_series(1, @count) AS i
            """, connection);
        command.Parameters.AddWithValue("prefix", prefix);
        command.Parameters.AddWithValue("count", count);
        await command.ExecuteNonQueryAsync();
        return [.. Enumerable.Range(1, count).Select(i => prefix + i.ToString("D6", CultureInfo.InvariantCulture))];
    }

    public static HttpRequestMessage Redirect(string code) => new(HttpMethod.Get, "/" + code);

    public static HttpRequestMessage Get(string path) => new(HttpMethod.Get, path);

    public static HttpRequestMessage CreateLink(int n)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/links")
        {
            Content = JsonContent.Create(new { url = $"https://example.com/written/{n}" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.BootstrapKey);
        return request;
    }

    /// <summary>Fails with the first offending samples when any sample matches <paramref name="bad"/>.</summary>
    public static void AssertNone(IEnumerable<Sample> samples, Func<Sample, bool> bad, string what)
    {
        var found = samples.Where(bad).ToList();
        Assert.True(found.Count == 0, $"{found.Count} {what}, e.g. {string.Join("; ", found.Take(3))}");
    }

    /// <summary>Asserts a 503 that tells the client when to retry, as an RFC 7807 problem.</summary>
    public static void AssertServiceUnavailableProblem(Sample sample)
    {
        var what = $"{sample.Kind} {sample.Path} at {sample.Start.TotalSeconds:F2} s";
        Assert.True(sample.Status == 503, $"{what}: expected 503, got {(sample.Failed ? sample.Error : sample.Status.ToString(CultureInfo.InvariantCulture))} {sample.Body}");
        Assert.True(int.TryParse(sample.RetryAfter, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds > 0,
            $"{what}: 503 without a Retry-After in seconds ({sample.RetryAfter ?? "none"})");
        Assert.True(sample.MediaType == "application/problem+json", $"{what}: 503 as {sample.MediaType}, not application/problem+json");
        var problem = JsonDocument.Parse(sample.Body!).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
    }

    /// <summary>The connection string with Npgsql settings overridden (or removed, with a null value).</summary>
    public static string WithSettings(string postgres, IDictionary<string, object?> settings)
    {
        var builder = new NpgsqlConnectionStringBuilder(postgres);
        foreach (var (key, value) in settings)
        {
            if (value is null) builder.Remove(key);
            else builder[key] = value;
        }
        return builder.ConnectionString;
    }

    public static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s";
}
