using System.Globalization;
using Shortener.Tests.Infrastructure;
using Xunit.Abstractions;
using static Shortener.Tests.Resilience.ResilienceKit;

namespace Shortener.Tests.Resilience;

/// <summary>PostgreSQL stopped for 10 s while redirects and writes keep coming: the cache carries redirects, writes fail fast.</summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Resilience")]
public sealed class PostgresOutageUnderLoadTests(ITestOutputHelper output)
{
    /// <summary>
    /// The API's Npgsql defaults (DataSources.AddPostgres), used here because the API gets a connection string
    /// without Timeout and Command Timeout: a request waits at most this long for a connection, then for its command.
    /// </summary>
    private const int NpgsqlTimeoutSeconds = 3;
    private const int NpgsqlCommandTimeoutSeconds = 5;

    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    /// <summary>
    /// During an outage a request makes at most one PostgreSQL call that can wait: the first one that fails ends
    /// it with a 503. So no request may take longer than one connect plus one command timeout (+1 s of slack).
    /// </summary>
    private static readonly TimeSpan LatencyBound = TimeSpan.FromSeconds(NpgsqlTimeoutSeconds + NpgsqlCommandTimeoutSeconds + 1);

    [Fact]
    public async Task CachedRedirectsSurviveAndWritesFailFastWith503ThenRecoverWithoutARestart()
    {
        // A server of this test's own: the shared one serves the other test classes.
        await using var postgres = await PostgresServer.StartAsync();
        var database = await postgres.CreateDatabaseAsync("pgoutage");
        await using var redis = await RedisServer.StartAsync();
        // No Timeout / Command Timeout in the connection string: the API's own defaults apply.
        var apiDatabase = WithSettings(database, new Dictionary<string, object?> { ["Timeout"] = null, ["Command Timeout"] = null });
        Assert.DoesNotContain("Timeout", apiDatabase, StringComparison.OrdinalIgnoreCase);
        await using var api = await StartApiAsync(ApiEnvironment(apiDatabase, redis.ConnectionString));

        // Pre-warm: each code redirected once, so the memory and Redis tiers hold it.
        var codes = await SeedLinksAsync(database, "pgo", 200);
        using (var client = api.Client())
        {
            foreach (var code in codes) Assert.Equal(302, (int)(await client.GetAsync("/" + code)).StatusCode);
        }

        await using var load = new LoadGenerator(api.BaseAddress);
        load.Add("redirect", 4, n => Redirect(codes[n % codes.Length]));
        load.Add("write", 2, CreateLink, pause: TimeSpan.FromMilliseconds(100));
        await Task.Delay(TimeSpan.FromSeconds(2));

        var stopping = load.Now;
        await postgres.StopAsync();
        var down = load.Now;
        await Task.Delay(Outage);
        var restarting = load.Now;
        await postgres.StartProcessAsync();
        // StartProcessAsync returns as soon as a connection is accepted (it polls every 50 ms).
        var accepting = load.Now;
        await Task.Delay(TimeSpan.FromSeconds(7));
        await load.StopAsync();

        var samples = load.Samples;
        var redirects = samples.Where(s => s.Kind == "redirect").ToList();
        var writes = samples.Where(s => s.Kind == "write").ToList();
        var outageRedirects = redirects.Where(s => s.Within(down, restarting)).ToList();
        var outageWrites = writes.Where(s => s.Within(down, restarting)).ToList();
        var firstWriteBack = writes.Where(s => s.Start >= accepting && s.Status == 201).MinBy(s => s.End);
        var recovery = firstWriteBack is null ? (TimeSpan?)null : firstWriteBack.End - accepting;

        output.WriteLine($"PostgreSQL stopping at {Seconds(stopping)}, down at {Seconds(down)}, restarting at {Seconds(restarting)}, accepting at {Seconds(accepting)}");
        output.WriteLine("Whole run:\n" + LoadGenerator.Summary(samples));
        output.WriteLine("During the outage:\n" + LoadGenerator.Summary(outageRedirects.Concat(outageWrites)));
        output.WriteLine($"Redirects 302 during the outage: {outageRedirects.Count(s => s.Status == 302)}/{outageRedirects.Count}");
        output.WriteLine($"Writes 503 during the outage: {outageWrites.Count(s => s.Status == 503)}/{outageWrites.Count}, max latency {outageWrites.Select(s => s.Latency.TotalMilliseconds).DefaultIfEmpty().Max():F1} ms (bound {LatencyBound.TotalMilliseconds} ms)");
        output.WriteLine($"Write recovery: first 201 {(recovery is { } r ? r.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms" : "never")} after PostgreSQL accepted connections again");

        AssertNone(samples, s => s.Status >= 500 && s.Status != 503, "responses were 5xx other than 503");
        AssertNone(samples, s => s.Failed, "requests got no HTTP response");
        var slowest = samples.MaxBy(s => s.Latency)!;
        Assert.True(slowest.Latency <= LatencyBound, $"{slowest.Kind} {slowest.Path} at {Seconds(slowest.Start)} took {slowest.Latency.TotalMilliseconds:F0} ms, more than {LatencyBound.TotalMilliseconds} ms");

        Assert.True(outageRedirects.Count >= 100, $"only {outageRedirects.Count} redirects during the outage: the load did not run");
        var redirected = outageRedirects.Count(s => s.Status == 302);
        Assert.True(redirected >= 0.99 * outageRedirects.Count, $"only {redirected} of {outageRedirects.Count} cached redirects were 302 during the outage");

        Assert.True(outageWrites.Count >= 20, $"only {outageWrites.Count} writes during the outage");
        foreach (var write in outageWrites) AssertServiceUnavailableProblem(write);

        Assert.True(recovery is { } back && back <= TimeSpan.FromSeconds(5), "writes did not succeed again within 5 s of PostgreSQL accepting connections");
        var lateFailures = writes.Where(s => s.Start >= accepting + TimeSpan.FromSeconds(5) && s.Status != 201).ToList();
        Assert.True(lateFailures.Count == 0, $"{lateFailures.Count} writes failed more than 5 s after PostgreSQL came back, e.g. {lateFailures.FirstOrDefault()}");
        Assert.Contains(writes, s => s.Start >= accepting + TimeSpan.FromSeconds(5));
        Assert.False(api.HasExited);
    }
}
