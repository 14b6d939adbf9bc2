using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Npgsql;
using Shortener.Api.Auth;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

public sealed class AuthenticationScopeFixture : ApiFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Auth:FailuresPerMinute"] = "10" };
}

/// <summary>Credentials are looked at only where they are needed, verified keys are cached within bounds, and guessing is throttled.</summary>
public sealed class AuthenticationScopeTests(AuthenticationScopeFixture fixture) : IClassFixture<AuthenticationScopeFixture>
{
    [Fact]
    public async Task RedirectsAndProbesNeverLookAtCredentialsEvenWhenTheKeyStoreIsBroken()
    {
        var admin = fixture.Api.Client();
        var code = (await (await admin.CreateLinkAsync(new { url = "https://example.com/anon" })).ReadJsonAsync()).GetProperty("code").GetString()!;
        Assert.Equal(HttpStatusCode.Found, (await admin.GetAsync("/" + code)).StatusCode); // now cached

        // Any key lookup now fails inside PostgreSQL; before the fix a redirect carrying a key made one (and answered 503).
        await using var connection = new NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        await new NpgsqlCommand("ALTER TABLE api_keys RENAME TO api_keys_broken", connection).ExecuteNonQueryAsync();
        try
        {
            foreach (var header in new[] { ("X-Api-Key", "sk_guess_" + Guid.NewGuid()), ("Authorization", "Bearer sk_guess_" + Guid.NewGuid()) })
            {
                var client = fixture.Api.Client(apiKey: null);
                client.DefaultRequestHeaders.TryAddWithoutValidation(header.Item1, header.Item2);
                Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/" + code)).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/livez")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/version")).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
            }
        }
        finally
        {
            await new NpgsqlCommand("ALTER TABLE api_keys_broken RENAME TO api_keys", connection).ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task RepeatedWrongKeysFromOneAddressGet429WithoutADatabaseLookup()
    {
        var owner = fixture.Api.Client();
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/api/links")).StatusCode); // its key is now verified and cached
        var guesser = fixture.Api.Client("sk_wrong_" + Guid.NewGuid());
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 14; i++) statuses.Add((await guesser.GetAsync("/api/links")).StatusCode);

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 10), statuses.Take(10));
        var refused = await fixture.Api.Client("sk_another_guess_" + Guid.NewGuid()).GetAsync("/api/links");
        var problem = await refused.AssertProblemAsync(429);
        Assert.Equal(TimeSpan.FromSeconds(AuthFailureLimiter.RetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("API key", problem.GetProperty("detail").GetString());
        // A key already verified from this address still works: the limit costs guessers, not the owner.
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/api/links")).StatusCode);
    }

    [Fact]
    public async Task BeforeTheBootstrapKeyIsStoredItsRetriesGet503AndSpendNoFailureBudget()
    {
        // A database where storing the bootstrap key fails (as while PostgreSQL is starting, or a grant is missing)
        // but key lookups work: the window in which the configured key is not found yet.
        var postgres = await SharedPostgres.CreateDatabaseAsync("BootstrapPending");
        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync();
            await new NpgsqlCommand("""
                CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
                CREATE TRIGGER refuse_insert BEFORE INSERT ON api_keys FOR EACH ROW EXECUTE FUNCTION refuse_insert();
                """, connection).ExecuteNonQueryAsync();
        }
        await using var api = new ApiFactory(postgres, fixture.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Auth:FailuresPerMinute"] = "10" });
        var admin = api.Client();

        // More retries than the budget: each one "retry shortly", none a failure.
        for (var i = 0; i < 15; i++)
        {
            var response = await admin.GetAsync("/api/links");
            await response.AssertProblemAsync(503);
            Assert.Equal(TimeSpan.FromSeconds(ApiKeyAuthenticationHandler.KeysNotReadyRetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        }

        await using (var connection = new NpgsqlConnection(postgres))
        {
            await connection.OpenAsync();
            await new NpgsqlCommand("DROP TRIGGER refuse_insert ON api_keys", connection).ExecuteNonQueryAsync();
        }
        await ApiFactory.WaitForBootstrapKeyAsync(postgres, TimeSpan.FromSeconds(30));
        // At once: the tries before were not remembered as an unknown key.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/links")).StatusCode);
        // The whole budget is left for real failures.
        var guesser = api.Client("sk_wrong_" + Guid.NewGuid());
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 14; i++) statuses.Add((await guesser.GetAsync("/api/links")).StatusCode);
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 10), statuses.Take(10));
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    [Fact]
    public async Task AFloodOfRandomKeysStaysWithinTheKeyCacheBudget()
    {
        // A TTL longer than the flood takes on a loaded machine: only the budget may evict the known key.
        var options = Options.Create(new AuthOptions { KeyCacheSize = 50, UnknownKeyCacheSize = 50, KeyCacheTtl = TimeSpan.FromMinutes(30) });
        await using var dataSource = NpgsqlDataSource.Create(fixture.Postgres);
        using var store = new ApiKeyStore(dataSource, options);
        await store.EnsureBootstrapKeyAsync(ApiFactory.BootstrapKey, CancellationToken.None);
        Assert.NotNull(await store.FindAsync(ApiFactory.BootstrapKey, CancellationToken.None));

        for (var i = 0; i < 2_000; i++) Assert.Null(await store.FindAsync("sk_random_" + i, CancellationToken.None));

        Assert.True(store.CachedEntries <= 100, $"{store.CachedEntries} cached entries for budgets of 50 + 50");
        Assert.NotNull(store.FindCached(ApiFactory.BootstrapKey)); // unknown keys have their own budget
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7", true)]
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    public void RateLimitsApplyToAnIPv4AddressOrAnIPv6Slash64(string first, string second, bool same)
    {
        static IPAddress Partition(string address) =>
            new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(address) } }.ClientPartition();
        Assert.Equal(same, Partition(first).Equals(Partition(second)));
    }

    [Fact]
    public async Task ALinkToThisServiceItselfIsRefused()
    {
        var admin = fixture.Api.Client();
        var self = new UriBuilder(fixture.Api.BaseAddress) { Path = "/somewhere" }.Uri.ToString();
        var problem = await (await admin.CreateLinkAsync(new { url = self })).AssertProblemAsync(400);
        Assert.Contains("itself", problem.GetProperty("errors").GetProperty("url")[0].GetString());
    }
}
