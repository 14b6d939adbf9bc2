namespace Shortener.Kubernetes.Tests;

public class CapacityModelTests
{
    [Fact]
    public void DocsCapacityIsWhatMakeCapacityGeneratesFromItsNamedInput()
    {
        // Compared with the input the document names, not the newest bench run: a new `make bench`
        // result changes nothing until someone runs `make capacity` and commits both.
        var expected = Report.Render(Repo.Model(), Repo.Manifests);
        Assert.Equal(expected, File.ReadAllText(Repo.CapacityDoc));
    }

    [Fact]
    public void ThePrometheusRuleIsWhatMakeK8sMonitoringGeneratesFromTheRuleFiles()
    {
        Assert.Equal(PrometheusRules.Render(Repo.Root), File.ReadAllText(Path.Combine(Repo.Root, PrometheusRules.Output)));
    }

    [Fact]
    public void TheDashboardConfigMapsAreWhatMakeK8sMonitoringGeneratesFromTheDashboards()
    {
        Assert.Equal(GrafanaDashboards.Render(Repo.Root), File.ReadAllText(Path.Combine(Repo.Root, GrafanaDashboards.Output)));
    }

    [Fact]
    public void ApiRequestsAndLimitsAreTheOnesDerivedFromTheBench()
    {
        Assert.Equal(Repo.Model().Api, Repo.Manifests.Resources("api"));
    }

    [Fact]
    public void WorkerRequestsAndLimitsAreTheOnesDerivedFromTheBench()
    {
        Assert.Equal(Repo.Model().Worker, Repo.Manifests.Resources("worker"));
    }

    [Fact]
    public void TheRpsTriggerIsThePerPodTargetTheCpuRequestWasSizedFor()
    {
        var model = Repo.Model();
        Assert.Equal(model.Targets.ApiTargetRpsPerPod, double.Parse(Repo.Manifests.TriggerValue("api", "prometheus", "threshold"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(model.Targets.CpuTargetUtilization * 100, double.Parse(Repo.Manifests.TriggerValue("api", "cpu", "value"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void CpuRequestFollowsTheArithmeticInTheManifestComment()
    {
        // 5,000 rps × 42.4 µs = 0.212 cores; / 0.70 = 0.303 → 350m. A different bench input moves it.
        var bench = Repo.Model().Bench with { ApiCpuPerRequestUs = 42.4 };
        Assert.Equal(350, new CapacityModel(bench, new DesignTargets()).Api.CpuRequestMillicores);
        var cheaper = bench with { ApiCpuPerRequestUs = 20 }; // 0.1 / 0.7 = 0.143 → 150m
        Assert.Equal(150, new CapacityModel(cheaper, new DesignTargets()).Api.CpuRequestMillicores);
    }

    [Fact]
    public void AQuickBenchRunIsRefusedAsSizingInput()
    {
        var quick = Directory.GetFiles(Path.Combine(Repo.Root, "bench/results"), "*-quick.json").First();
        Assert.Throws<InvalidDataException>(() => BenchFigures.Load(quick, Path.GetFileName(quick)));
    }

    [Fact]
    public void BenchResultsWithThePreAggregatedDrainsAreSizedFromTheirPerClickDrain()
    {
        // Since 2026-12-03 a run measures three drains (worker_drains); the model keeps sizing a key at the cost of a
        // per-click entry, the conservative one, and must not fail on, or silently mix up, the newer layout.
        var path = Path.Combine(Repo.Root, "bench/results/2026-12-03-193429-9da6b8f.json");
        var bench = BenchFigures.Load(path, Path.GetFileName(path));
        Assert.Equal(40_931, bench.WorkerEventsPerSecond);
        Assert.Equal(0.372, bench.WorkerCpuFraction, 3);
        // Redis's cost per redirect comes from a redirect that reaches Redis: that run's hot redirect, served from the
        // API's in-process tier, cost Redis 0.000 cores, and sized Redis at one shard for a million redirects a second.
        Assert.Equal(0.107 / 35_675 * 1e6, new CapacityModel(bench, new DesignTargets()).RedisCpuPerRedirectUs, 2);
    }

    [Fact]
    public void EachTrafficStepNeedsAtLeastAsManyPodsAsTheTargetAllows()
    {
        var model = Repo.Model();
        foreach (var rps in Report.Steps)
        {
            var step = model.Step(rps);
            Assert.True(step.ApiPods * model.Targets.ApiTargetRpsPerPod >= rps, $"{rps}: {step.ApiPods} pods");
            Assert.True(step.WorkerPods * model.Bench.WorkerEventsPerSecond >= rps, $"{rps}: {step.WorkerPods} workers");
            Assert.True(step.RedisShards * model.Targets.RedisCoreBudget >= step.RedisCores);
        }
        Assert.True(model.Step(1_000_000).RedisShards > 1, "a million redirects a second must need Redis sharding");
    }
}
