using System.Net;
using System.Net.Http.Json;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

public sealed class FaultInjectionFixture : ApiFixture
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Faults:Enabled"] = "true" };
}

public sealed class FaultInjectionTests(FaultInjectionFixture fixture) : IClassFixture<FaultInjectionFixture>
{
    [Fact]
    public async Task AnErrorFaultSetOnOneReplicaHitsTheOtherAndIsVisibleUntilCleared()
    {
        var admin = fixture.Api.Client();
        var code = (await (await admin.CreateLinkAsync(new { url = "https://example.com" })).ReadJsonAsync()).GetProperty("code").GetString();
        await using var replica = new ApiFactory(fixture.Postgres, fixture.Redis.ConnectionString,
            new Dictionary<string, string?> { ["Faults:Enabled"] = "true" });
        var other = replica.Client(apiKey: null);
        Assert.Equal(HttpStatusCode.Found, (await other.GetAsync("/" + code)).StatusCode);

        var set = await admin.PutAsJsonAsync("/admin/faults", new { errorRate = 1.0, route = "/{code}", durationSeconds = 60 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        await LocalProcess.WaitUntilAsync(async () => (await other.GetAsync("/" + code)).StatusCode == HttpStatusCode.InternalServerError,
            TimeSpan.FromSeconds(5), "the other replica to inject errors");
        // Other routes and the probes are untouched.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/links?limit=1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/readyz")).StatusCode);

        var health = await (await other.GetAsync("/healthz")).ReadJsonAsync();
        Assert.Equal("Degraded", health.GetProperty("checks").GetProperty("faults").GetProperty("status").GetString());
        var metrics = await other.GetStringAsync("/metrics");
        Assert.Contains("shortener_faults_active{otel_scope_name=\"Shortener.Api\",fault=\"errors\"} 1", metrics);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/admin/faults")).StatusCode);
        await LocalProcess.WaitUntilAsync(async () => (await other.GetAsync("/" + code)).StatusCode == HttpStatusCode.Found,
            TimeSpan.FromSeconds(5), "the fault to clear everywhere");
    }

    [Fact]
    public async Task AddedLatencyDelaysMatchingRequests()
    {
        var admin = fixture.Api.Client();
        await admin.PutAsJsonAsync("/admin/faults", new { latencyMs = 400, route = "/{code}", durationSeconds = 30 });
        try
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            await admin.GetAsync("/no-such-code");
            Assert.True(started.ElapsedMilliseconds >= 400, $"took {started.ElapsedMilliseconds} ms");
        }
        finally
        {
            await admin.DeleteAsync("/admin/faults");
        }
    }

    [Fact]
    public async Task FaultsNeedAnAdminKeyAndValidSettings()
    {
        await (await fixture.Api.Client(apiKey: null).PutAsJsonAsync("/admin/faults", new { errorRate = 1, durationSeconds = 5 })).AssertProblemAsync(401);
        var admin = fixture.Api.Client();
        await (await admin.PutAsJsonAsync("/admin/faults", new { errorRate = 2, durationSeconds = 5 })).AssertProblemAsync(400);
        await (await admin.PutAsJsonAsync("/admin/faults", new { errorRate = 0.5 })).AssertProblemAsync(400);
    }
}

public sealed class FaultInjectionDisabledTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task WithoutConfigurationTheFaultEndpointsDoNotExist()
    {
        var response = await fixture.Api.Client().PutAsJsonAsync("/admin/faults", new { errorRate = 1, durationSeconds = 5 });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
