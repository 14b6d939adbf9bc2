using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Npgsql;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// The real API (its Program) on real Kestrel, against real PostgreSQL and Redis: request limits,
/// headers and connection behaviour are the production ones, not TestServer's.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<Program>
{
    public const string BootstrapKey = "sk_test_bootstrap_key_0123456789abcdef0123456789";
    private readonly Dictionary<string, string?> _settings;

    private readonly Action<IServiceCollection>? _testServices;

    public ApiFactory(string postgres, string redis, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? testServices = null)
    {
        _testServices = testServices;
        _settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:postgres"] = postgres,
            ["ConnectionStrings:redis"] = redis,
            ["Auth:BootstrapApiKey"] = BootstrapKey,
            ["Shutdown:DrainDelay"] = "00:00:00",
            ["RateLimits:RedirectsPerSecond"] = "0",
            ["RateLimits:ManagementPerMinute"] = "0",
            // Like the rate limits: off unless a test is about it (tests share a host, all from 127.0.0.1).
            ["Auth:FailuresPerMinute"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) _settings[key] = value;
        UseKestrel(0);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        if (_testServices is not null) builder.ConfigureTestServices(_testServices);
    }

    /// <summary>Where Kestrel listens (a free port chosen at start).</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
            return new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// Waits until the API has stored the bootstrap key, asking the database rather than the API: every request made
    /// before then is a failed authentication from 127.0.0.1, and those emptied the failure budget
    /// (Auth:FailuresPerMinute) that a test about that budget starts from.
    /// </summary>
    public static async Task WaitForBootstrapKeyAsync(string postgres, TimeSpan timeout)
    {
        await using var dataSource = NpgsqlDataSource.Create(postgres);
        await LocalProcess.WaitUntilAsync(async () =>
            await dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = 'bootstrap' AND revoked_at IS NULL)")
                .ExecuteScalarAsync() is true, timeout, "the bootstrap key to be stored");
    }

    /// <summary>A client that does not follow redirects, optionally authenticated with an API key.</summary>
    public HttpClient Client(string? apiKey = BootstrapKey)
    {
        // Our own handler: redirects are asserted, never followed (their targets are outside this machine).
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }
}

/// <summary>
/// Per test class: its own database, its own Redis (so a class may stop it) and one API instance.
/// The bootstrap key is stored before the first test runs.
/// </summary>
public class ApiFixture : IAsyncLifetime
{
    public string Postgres { get; private set; } = "";
    public RedisServer Redis { get; private set; } = null!;
    public ApiFactory Api { get; private set; } = null!;

    protected virtual IDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        Postgres = await SharedPostgres.CreateDatabaseAsync(GetType().Name);
        Redis = await RedisServer.StartAsync();
        Api = new ApiFactory(Postgres, Redis.ConnectionString, Settings);
        _ = Api.BaseAddress; // starts the API, whose background service stores the bootstrap key
        await ApiFactory.WaitForBootstrapKeyAsync(Postgres, TimeSpan.FromSeconds(30));
        Assert.True((await Api.Client().GetAsync("/api/links?limit=1")).IsSuccessStatusCode, "the bootstrap key is stored but not accepted");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await Api.DisposeAsync();
        }
        finally
        {
            // Even when the API's stop throws (a fixture cleanup failure): a Redis left running outlives the test run.
            await Redis.DisposeAsync();
        }
    }
}
