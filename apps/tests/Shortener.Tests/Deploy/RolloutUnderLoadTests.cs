extern alias deploy;
using System.Diagnostics;
using deploy::Shortener.Deploy;
using Shortener.Tests.Infrastructure;
using Shortener.Tests.Resilience;
using Xunit.Abstractions;
using static Shortener.Tests.Resilience.ResilienceKit;

namespace Shortener.Tests.Deploy;

/// <summary>
/// The deploy tool's rollout and automatic rollback, for real, on local processes: release A runs
/// (2 API replicas behind a /readyz-checking balancer, 1 worker); a release B whose readiness fails
/// (its Redis address is wrong) is rolled back to A; then a good B replaces A. Redirects run through
/// the balancer the whole time and every one must be answered 302.
/// </summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Deploy")]
public sealed class RolloutUnderLoadTests(ITestOutputHelper output)
{
    private static ImageReference Image(string service, char digit) =>
        ImageReference.Parse($"ghcr.io/example/shortener-{service}@sha256:{new string(digit, 64)}");

    private static Release ReleaseOf(string name, char digit) =>
        new(name, Image("api", digit), Image("worker", digit), Image("migrator", digit));

    [Fact]
    public async Task ABadReleaseIsRolledBackAndAGoodOneReplacesTheOldWithEveryRedirectAnswered302()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("rollout");
        await using var redis = await RedisServer.StartAsync();
        var codes = await SeedLinksAsync(database, "roll", 50);
        var closedPort = TestPorts.Next(); // nothing listens there: B-bad cannot reach its PostgreSQL or Redis

        var releaseA = ReleaseOf("v1.0.0", 'a');
        var badB = ReleaseOf("v1.1.0-bad", 'b');
        var goodB = ReleaseOf("v1.1.0", 'c');
        var noChange = new Dictionary<string, string>();
        var badRedis = new Dictionary<string, string> { ["ConnectionStrings__redis"] = $"127.0.0.1:{closedPort},connectTimeout=500" };
        // The API stays ready without Redis (redirects carry on from PostgreSQL), not without PostgreSQL.
        var badPostgres = new Dictionary<string, string>
        {
            ["ConnectionStrings__postgres"] = new Npgsql.NpgsqlConnectionStringBuilder(database) { Port = closedPort, Timeout = 1 }.ConnectionString,
        };
        var releases = new Dictionary<ImageReference, IDictionary<string, string>>
        {
            [releaseA.Api] = noChange,
            [releaseA.Worker] = noChange,
            [releaseA.Migrator] = noChange,
            [badB.Api] = badPostgres,
            [badB.Worker] = badRedis,
            [badB.Migrator] = noChange,
            [goodB.Api] = noChange,
            [goodB.Worker] = noChange,
            [goodB.Migrator] = noChange,
        };
        var services = new Dictionary<string, IDictionary<string, string>>
        {
            // A drain longer than the balancer's probe interval: a retiring replica leaves before it closes.
            ["api"] = ApiEnvironment(database, redis.ConnectionString, new Dictionary<string, string> { ["Shutdown__DrainDelay"] = "00:00:01" }),
            ["worker"] = new Dictionary<string, string>
            {
                ["ConnectionStrings__postgres"] = database,
                ["ConnectionStrings__redis"] = redis.ConnectionString,
                ["Shutdown__DrainDelay"] = "00:00:00",
                ["Telemetry__Enabled"] = "false",
                ["Logging__LogLevel__Default"] = "Warning",
            },
            ["migrator"] = new Dictionary<string, string> { ["ConnectionStrings__postgres"] = database },
        };

        await using var balancer = await ReadinessLoadBalancer.StartAsync();
        await using var runtime = new ProcessReleaseRuntime(releases, services, balancer);
        var state = Directory.CreateTempSubdirectory("shortener-releases-");
        var history = new ReleaseHistory(state.FullName);
        var rollout = new Rollout(runtime, history, new RolloutOptions { ReadyTimeout = TimeSpan.FromSeconds(25) }, sloGate: null,
            log: message => output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {message}"));
        try
        {
            var first = await rollout.DeployAsync(releaseA);
            Assert.Equal(DeployOutcome.Deployed, first.Outcome);
            AssertRunning(runtime, releaseA);

            await using var load = new LoadGenerator(balancer.Address);
            load.Add("redirect", 4, n => Redirect(codes[n % codes.Length]));
            await Task.Delay(TimeSpan.FromSeconds(1));

            var badStarted = load.Now;
            var bad = await rollout.DeployAsync(badB);
            var badEnded = load.Now;
            Assert.True(bad.Outcome == DeployOutcome.RolledBack, $"{bad.Outcome}: {bad.Detail}");
            Assert.Contains("api replica 1", bad.Detail, StringComparison.Ordinal);
            Assert.Equal(releaseA, history.Current);
            AssertRunning(runtime, releaseA);
            await Task.Delay(TimeSpan.FromSeconds(1));

            var goodStarted = load.Now;
            var good = await rollout.DeployAsync(goodB);
            var goodEnded = load.Now;
            Assert.True(good.Outcome == DeployOutcome.Deployed, $"{good.Outcome}: {good.Detail}");
            Assert.Equal(goodB, history.Current);
            AssertRunning(runtime, goodB);
            await Task.Delay(TimeSpan.FromSeconds(1));
            await load.StopAsync();

            var redirects = load.Samples;
            int During(TimeSpan from, TimeSpan to) => redirects.Count(s => s.StartedIn(from, to));
            output.WriteLine($"bad release: gate failed after {Seconds(bad.Rollout)}, rolled back in {Seconds(bad.Rollback!.Value)}; " +
                $"good release deployed in {Seconds(good.Rollout)}; redirects during the bad deploy {During(badStarted, badEnded)}, " +
                $"during the good one {During(goodStarted, goodEnded)}");
            output.WriteLine(LoadGenerator.Summary(redirects));
            foreach (var line in File.ReadAllLines(Path.Combine(state.FullName, "history.jsonl"))) output.WriteLine(line);

            // Not vacuous: the load ran through both deploys.
            Assert.True(During(badStarted, badEnded) > 100, "too few redirects during the bad deploy");
            Assert.True(During(goodStarted, goodEnded) > 100, "too few redirects during the good deploy");
            AssertNone(redirects, s => s.Failed || s.Status != 302, "redirects were not answered 302");
            var outcomes = File.ReadAllLines(Path.Combine(state.FullName, "history.jsonl"));
            Assert.Equal(3, outcomes.Length);
            Assert.Contains("\"outcome\":\"RolledBack\"", outcomes[1], StringComparison.Ordinal);
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AFirstDeployThatFailsItsGateIsReportedFailedAndRecordsNoCurrentRelease()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("rollout_first");
        var bad = ReleaseOf("v0.1.0", 'd');
        var badRedis = new Dictionary<string, string> { ["ConnectionStrings__redis"] = $"127.0.0.1:{TestPorts.Next()},connectTimeout=500" };
        var releases = new Dictionary<ImageReference, IDictionary<string, string>> { [bad.Api] = badRedis, [bad.Worker] = badRedis, [bad.Migrator] = badRedis };
        var services = new Dictionary<string, IDictionary<string, string>>
        {
            ["api"] = ApiEnvironment(database, "unused:1"),
            ["worker"] = new Dictionary<string, string>(),
            ["migrator"] = new Dictionary<string, string> { ["ConnectionStrings__postgres"] = database },
        };
        await using var balancer = await ReadinessLoadBalancer.StartAsync();
        await using var runtime = new ProcessReleaseRuntime(releases, services, balancer);
        var state = Directory.CreateTempSubdirectory("shortener-releases-");
        try
        {
            var history = new ReleaseHistory(state.FullName);
            var clock = Stopwatch.StartNew();
            var result = await new Rollout(runtime, history, new RolloutOptions { ReadyTimeout = TimeSpan.FromSeconds(3) }, null, output.WriteLine).DeployAsync(bad);
            Assert.Equal(DeployOutcome.Failed, result.Outcome);
            Assert.Null(history.Current);
            Assert.Empty(runtime.Running); // the never-ready replica was stopped, not left behind
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20));
        }
        finally
        {
            state.Delete(recursive: true);
        }
    }

    private static void AssertRunning(ProcessReleaseRuntime runtime, Release release)
    {
        var running = runtime.Running;
        Assert.Equal(2, running.Count(r => r.Service == "api" && r.Image == release.Api));
        Assert.Equal(1, running.Count(r => r.Service == "worker" && r.Image == release.Worker));
        Assert.Equal(3, running.Count);
    }
}
