namespace Shortener.Kubernetes.Tests;

/// <summary>
/// The HPA and KEDA decisions for the manifests' thresholds, simulated with the `make bench` figures:
/// enough replicas before users see saturation or the lag alert fires, and back down afterwards.
/// </summary>
public class ScalingSimulationTests
{
    private static readonly ScalingRules Immediate = new(0, "Max", [new ScalingPolicy("Percent", 100, 15)]);

    [Fact]
    public void WithinTheTenPercentToleranceTheHpaKeepsTheReplicaCount()
    {
        var hpa = new HorizontalPodAutoscaler(new AutoscalerSpec(1, 10, Immediate, Immediate));
        Assert.Equal(4, hpa.ForUtilization(4, 76, 70));   // ratio 1.086
        Assert.Equal(6, hpa.ForUtilization(4, 105, 70));  // ratio 1.5 → ceil(6.0)
        Assert.Equal(4, hpa.ForAverageValue(4, 21_000, 5_000)); // 21,000 / 20,000 = 1.05
        Assert.Equal(5, hpa.ForAverageValue(4, 23_000, 5_000)); // ceil(4.6)
    }

    [Fact]
    public void ScaleUpIsLimitedByThePoliciesAndScaleDownByTheStabilizationWindow()
    {
        var spec = new AutoscalerSpec(1, 100,
            new ScalingRules(0, "Max", [new ScalingPolicy("Pods", 2, 15)]),
            new ScalingRules(60, "Max", [new ScalingPolicy("Percent", 50, 60)]));
        var hpa = new HorizontalPodAutoscaler(spec);
        Assert.Equal(3, hpa.Decide(15, 1, [20]));  // +2 pods per 15 s
        Assert.Equal(5, hpa.Decide(30, 3, [20]));
        Assert.Equal(5, hpa.Decide(45, 5, [1]));   // the window still holds the 20s
        Assert.Equal(2, hpa.Decide(90, 5, [1]));   // the 20s left the window: down, but at most 50 % per minute
        Assert.Equal(2, hpa.Decide(105, 2, [1]));  // 5 → 2 within this minute already used the 50 %
    }

    [Fact]
    public void ApiSurgeIsServedWithoutSaturatingAPodForMoreThanThirtySeconds()
    {
        var run = SimulateApi(Repo.Manifests.Autoscaler("api"));
        var model = Repo.Model();
        var capacityPerPod = model.Api.CpuLimitMillicores / 1000.0 * 1e6 / model.Bench.ApiCpuPerRequestUs;
        Assert.True(run.Count(x => x.PerReadyPod > capacityPerPod) <= 30, "pods saturated too long");
        // At the plateau the pods carry about their target: ⌈40,000 / 5,000⌉ = 8.
        Assert.InRange(run.Single(x => x.Second == 700).Replicas, 8, 9);
    }

    [Fact]
    public void ApiScalesBackToItsMinimumOnlyAfterTheScaleDownWindow()
    {
        var spec = Repo.Manifests.Autoscaler("api");
        var run = SimulateApi(spec);
        var back = run.First(x => x.Second > 720 && x.Replicas == spec.MinReplicas).Second;
        Assert.InRange(back, 720 + spec.ScaleDown.StabilizationWindowSeconds, 720 + spec.ScaleDown.StabilizationWindowSeconds + 600);
        Assert.All(run.Where(x => x.Second is > 720 and < 1000), x => Assert.True(x.Replicas >= 4, $"t={x.Second}: flapped down to {x.Replicas}"));
    }

    [Fact]
    public void WorkerBurstIsDrainedLongBeforeTheLagAlertCouldFire()
    {
        var spec = Repo.Manifests.Autoscaler("worker");
        var run = SimulateWorker(spec, LagCount());
        Assert.True(LongestRun(run, x => x.Backlog > Scenarios.LagAlertThreshold) < 120,
            "lag stayed above the ClickLagGrowing threshold for 2 minutes or more");
        Assert.True(run.Max(x => x.Replicas) > spec.MinReplicas, "KEDA never scaled the worker up");
        Assert.Equal(spec.MinReplicas, run[^1].Replicas);
    }

    [Fact]
    public void WithoutRoomToScaleTheSameBurstWouldFireTheLagAlert()
    {
        // The check above can fail: pin the worker to one replica and the backlog outlives the alert's 15 minutes.
        var spec = Repo.Manifests.Autoscaler("worker") with { MinReplicas = 1, MaxReplicas = 1 };
        var run = ScalingSimulation.Worker(spec, t => t < 330 ? Scenarios.ClickBurst(t) : 200, 2_400, Scenarios.WorkerEntriesPerSecond(Repo.Model().Bench), LagCount());
        Assert.True(LongestRun(run, x => x.Backlog > Scenarios.LagAlertThreshold) >= Scenarios.LagAlertForSeconds);
    }

    [Fact]
    public void TheLagUnitsAgreeWithTheAlertAndTheApi()
    {
        // Entries, not clicks (ADR 0010): the simulation's alert level is ClickLagGrowing's, its entry size the
        // API's Clicks:BatchSize, and KEDA must ask for more workers below the alert's threshold, not after it.
        var rules = File.ReadAllText(Path.Combine(Repo.Root, "observability/prometheus/rules/symptoms.yml"));
        var threshold = System.Text.RegularExpressions.Regex.Match(rules, @"max without \(instance\) \(shortener_clickstream_lag\) > (\d+)");
        Assert.True(threshold.Success, "ClickLagGrowing's shortener_clickstream_lag threshold not found in symptoms.yml");
        Assert.Equal(Scenarios.LagAlertThreshold, double.Parse(threshold.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        var options = File.ReadAllText(Path.Combine(Repo.Root, "apps/src/Shortener.Api/Clicks/ClickOptions.cs"));
        Assert.Matches($@"int BatchSize {{ get; set; }} = {Scenarios.KeysPerEntry};", options);
        Assert.True(LagCount() * 2 <= Scenarios.LagAlertThreshold,
            $"lagCount {LagCount()} must be at most half the alert's {Scenarios.LagAlertThreshold} entries: KEDA asks for extra workers before the alert level");
    }

    private static IReadOnlyList<ScalingSimulation.Sample> SimulateApi(AutoscalerSpec spec)
    {
        var model = Repo.Model();
        return ScalingSimulation.Api(spec, Scenarios.ApiSurge, Scenarios.ApiSurgeSeconds, model.Bench.ApiCpuPerRequestUs,
            model.Api.CpuRequestMillicores / 1000.0, model.Api.CpuLimitMillicores / 1000.0, (int)Math.Round(model.Targets.CpuTargetUtilization * 100), model.Targets.ApiTargetRpsPerPod);
    }

    private static IReadOnlyList<ScalingSimulation.Sample> SimulateWorker(AutoscalerSpec spec, double lagCount) =>
        ScalingSimulation.Worker(spec, Scenarios.ClickBurst, Scenarios.ClickBurstSeconds, Scenarios.WorkerEntriesPerSecond(Repo.Model().Bench), lagCount);

    private static double LagCount() =>
        double.Parse(Repo.Manifests.TriggerValue("worker", "redis-streams", "lagCount"), System.Globalization.CultureInfo.InvariantCulture);

    private static int LongestRun(IReadOnlyList<ScalingSimulation.Sample> samples, Func<ScalingSimulation.Sample, bool> condition)
    {
        int longest = 0, current = 0;
        foreach (var x in samples)
        {
            current = condition(x) ? current + 1 : 0;
            longest = Math.Max(longest, current);
        }
        return longest;
    }
}
