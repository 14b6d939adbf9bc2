using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;
using static Shortener.Tests.Resilience.ResilienceKit;

namespace Shortener.Tests.Resilience;

/// <summary>SIGTERM while the API is under load: unready first, keeps serving through the drain, then stops cleanly.</summary>
[Collection(ResilienceCollection.Name)]
[Trait("Category", "Resilience")]
public sealed class ApiSigtermUnderLoadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DrainDelay = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task ReadinessFailsBeforeAnyConnectionIsRefusedEveryAnswerIsA302AndTheExitIsClean()
    {
        var database = await SharedPostgres.CreateDatabaseAsync("sigterm");
        await using var redis = await RedisServer.StartAsync();
        await using var api = await StartApiAsync(ApiEnvironment(database, redis.ConnectionString, new Dictionary<string, string>
        {
            ["Shutdown__DrainDelay"] = "00:00:02",
        }));
        var codes = await SeedLinksAsync(database, "term", 100);

        await using var load = new LoadGenerator(api.BaseAddress);
        load.Add("redirect", 4, n => Redirect(codes[n % codes.Length]));
        load.Add("readyz", 1, _ => Get("/readyz"), pause: TimeSpan.FromMilliseconds(20));
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        var sigterm = load.Now;
        api.Signal(LocalProcess.SigTerm);
        await api.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var exited = load.Now;
        // A little longer, so the load meets the closed port: the ordering below is then never vacuous.
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await load.StopAsync();

        var samples = load.Samples;
        var redirects = samples.Where(s => s.Kind == "redirect").ToList();
        var readiness = samples.Where(s => s.Kind == "readyz").ToList();
        var firstUnready = readiness.Where(s => s.Status == 503).MinBy(s => s.End);
        var firstFailure = samples.Where(s => s.Failed).MinBy(s => s.Start);
        var servedWhileDraining = redirects.Count(s => s.Status == 302 && s.Start >= sigterm);
        var clicks = await ClickStreamReader.TotalClicksAsync((await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)).GetDatabase());

        output.WriteLine($"SIGTERM at {Seconds(sigterm)}; /readyz first seen 503 at {(firstUnready is null ? "never" : Seconds(firstUnready.End))}; " +
            $"first connection failure at {(firstFailure is null ? "never" : Seconds(firstFailure.Start) + $" ({firstFailure.Error})")}; exited at {Seconds(exited)} with {api.ExitCode}");
        output.WriteLine(LoadGenerator.Summary(samples));
        output.WriteLine($"Redirects completed after SIGTERM (during the drain): {servedWhileDraining}; click events in the stream: {clicks}, 302 answers: {redirects.Count(s => s.Status == 302)}");

        Assert.Equal(0, api.ExitCode);
        Assert.NotNull(firstUnready);
        Assert.NotNull(firstFailure);
        Assert.True(firstUnready.End < firstFailure.Start,
            $"a connection failed ({firstFailure.Error}) at {Seconds(firstFailure.Start)}, before /readyz was seen failing at {Seconds(firstUnready.End)}");
        // Readiness turns at SIGTERM, not at the end of the drain.
        Assert.True(firstUnready.End - sigterm < DrainDelay, $"/readyz failed only {Seconds(firstUnready.End - sigterm)} after SIGTERM");
        AssertNone(redirects, s => !s.Failed && s.Status != 302, "redirects got an HTTP answer other than 302");
        AssertNone(readiness, s => !s.Failed && s.Status is not (200 or 503), "/readyz answers were neither 200 nor 503");
        Assert.True(servedWhileDraining > 0, "no redirect was served during the drain");
        // Every redirect answered 302 recorded a click, and the publisher flushed them all before exiting.
        Assert.Equal(redirects.Count(s => s.Status == 302), clicks);
    }
}
