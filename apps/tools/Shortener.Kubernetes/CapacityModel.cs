namespace Shortener.Kubernetes;

/// <summary>Choices the model is built on (not measurements): each one is printed in docs/capacity.md.</summary>
public sealed record DesignTargets
{
    /// <summary>Requests per second one API pod is meant to carry: the KEDA prometheus trigger's threshold.</summary>
    public double ApiTargetRpsPerPod { get; init; } = 5_000;

    /// <summary>The CPU trigger's target utilisation of the request.</summary>
    public double CpuTargetUtilization { get; init; } = 0.70;

    public double CpuLimitCores { get; init; } = 1.0;
    public double MemoryLimitFactor { get; init; } = 1.5;

    /// <summary>Workers run at no more than this share of their measured drain rate, so a backlog drains.</summary>
    public double WorkerDrainHeadroom { get; init; } = 0.5;

    /// <summary>Redis executes commands on one thread: plan it to half a core before sharding.</summary>
    public double RedisCoreBudget { get; init; } = 0.5;

    /// <summary>One PostgreSQL primary: 16 vCPU, planned to 60 %.</summary>
    public double PostgresPrimaryCores { get; init; } = 16 * 0.6;

    /// <summary>Redirects answered from the in-process or Redis cache (the rest read PostgreSQL).</summary>
    public double CacheHitRatio { get; init; } = 0.95;

    /// <summary>Link creations per redirect at internet scale (the bench's mixed blend has 5 %).</summary>
    public double CreateShare { get; init; } = 0.01;

    /// <summary>Bytes on the wire per redirect (request ~450 B in, 302 response ~350 B out).</summary>
    public double BytesInPerRedirect { get; init; } = 450;
    public double BytesOutPerRedirect { get; init; } = 350;

    /// <summary>Typical on-demand cloud list prices (assumptions; check your provider's).</summary>
    public double DollarsPerVcpuHour { get; init; } = 0.045;
    public double DollarsPerGbEgress { get; init; } = 0.05;
    public double HoursPerMonth { get; init; } = 730;
}

/// <summary>Requests and limits of one container, rounded the way the manifests write them.</summary>
public sealed record PodResources(int CpuRequestMillicores, int CpuLimitMillicores, int MemoryRequestMi, int MemoryLimitMi);

/// <summary>One row of the capacity table.</summary>
public sealed record CapacityStep(
    double RedirectsPerSecond,
    int ApiPods,
    double ApiCoresUsed,
    double ApiCoresRequested,
    int WorkerPods,
    double RedisCores,
    int RedisShards,
    double PostgresCores,
    int PostgresPrimaries,
    double NetworkGbps,
    string Bottleneck,
    double DollarsPerMonth);

public sealed class CapacityModel(BenchFigures bench, DesignTargets targets)
{
    public BenchFigures Bench { get; } = bench;
    public DesignTargets Targets { get; } = targets;

    public double ApiCoresAtTarget => Targets.ApiTargetRpsPerPod * Bench.ApiCpuPerRequestUs / 1e6;
    public double ApiCpuRequestCores => ApiCoresAtTarget / Targets.CpuTargetUtilization;
    public double WorkerCpuPerEventUs => Bench.WorkerCpuFraction / Bench.WorkerEventsPerSecond * 1e6;
    public double RedisCpuPerRedirectUs => Bench.RedisCpuFractionAtWarmRedirect / Bench.WarmRedirectRps * 1e6;
    public double PostgresCpuPerColdRedirectUs => Bench.PostgresCpuFractionAtColdRedirect / Bench.ColdRedirectRps * 1e6;
    public double PostgresCpuPerCreateUs => Bench.PostgresCpuFractionAtCreate / Bench.CreateRps * 1e6;

    /// <summary>
    /// PostgreSQL CPU per counted click: the mixed scenario's PostgreSQL CPU minus what its creates
    /// cost (from create_link), over its redirects (every one a hot-cache hit, so no reads).
    /// </summary>
    public double PostgresCpuPerClickUs
    {
        get
        {
            var creates = Bench.MixedRps * Bench.MixedCreateShare;
            var clicks = Bench.MixedRps - creates;
            var forClicks = Bench.PostgresCpuFractionAtMixed - creates * PostgresCpuPerCreateUs / 1e6;
            return Math.Max(0, forClicks) / clicks * 1e6;
        }
    }

    public PodResources Api => new(
        RoundUp(ApiCpuRequestCores * 1000, 50),
        (int)(Targets.CpuLimitCores * 1000),
        RoundUp(Bench.ApiRssMb, 64),
        RoundUp(Bench.ApiRssMb * Targets.MemoryLimitFactor, 64));

    public PodResources Worker => new(
        RoundUp(Bench.WorkerCpuFraction * 1000, 50),
        (int)(Targets.CpuLimitCores * 1000),
        RoundUp(Bench.WorkerRssMb, 64),
        RoundUp(Bench.WorkerRssMb * Targets.MemoryLimitFactor, 64));

    public CapacityStep Step(double rps, int apiMinReplicas = 3)
    {
        var apiPods = Math.Max(apiMinReplicas, (int)Math.Ceiling(rps / Targets.ApiTargetRpsPerPod));
        var apiCoresUsed = rps * Bench.ApiCpuPerRequestUs / 1e6;
        var apiCoresRequested = apiPods * Api.CpuRequestMillicores / 1000.0;
        var clicks = rps;
        var workerPods = Math.Max(1, (int)Math.Ceiling(clicks / (Bench.WorkerEventsPerSecond * Targets.WorkerDrainHeadroom)));
        var redisCores = rps * RedisCpuPerRedirectUs / 1e6;
        var redisShards = Math.Max(1, (int)Math.Ceiling(redisCores / Targets.RedisCoreBudget));
        var postgresCores = (rps * (1 - Targets.CacheHitRatio) * PostgresCpuPerColdRedirectUs
            + rps * Targets.CreateShare * PostgresCpuPerCreateUs
            + clicks * PostgresCpuPerClickUs) / 1e6;
        var postgresPrimaries = Math.Max(1, (int)Math.Ceiling(postgresCores / Targets.PostgresPrimaryCores));
        var gbps = rps * (Targets.BytesInPerRedirect + Targets.BytesOutPerRedirect) * 8 / 1e9;

        // The resource closest to its single-instance budget is the next wall.
        var pressure = new (string Name, double Load)[]
        {
            ("PostgreSQL (click aggregation writes, cold reads)", postgresCores / Targets.PostgresPrimaryCores),
            ("Redis (one thread: cache and stream)", redisCores / Targets.RedisCoreBudget),
            ("network (one 10 Gbit/s load-balancer path)", gbps / 10),
            ("API pods (CPU, scales out linearly)", 0),
        };
        var bottleneck = pressure.MaxBy(p => p.Load);
        var bottleneckText = bottleneck.Load < 0.25 ? "none: API pods scale out; everything else idles" : $"{bottleneck.Name} at {bottleneck.Load:P0} of one instance";

        var vcpus = apiCoresRequested + workerPods * Worker.CpuRequestMillicores / 1000.0
            + redisShards * 2 + Math.Max(postgresCores / 0.6, 2);
        var egressGbPerMonth = rps * Targets.BytesOutPerRedirect * 3600 * Targets.HoursPerMonth / 1e9;
        var dollars = vcpus * Targets.DollarsPerVcpuHour * Targets.HoursPerMonth + egressGbPerMonth * Targets.DollarsPerGbEgress;
        return new CapacityStep(rps, apiPods, apiCoresUsed, apiCoresRequested, workerPods, redisCores, redisShards,
            postgresCores, postgresPrimaries, gbps, bottleneckText, dollars);
    }

    private static int RoundUp(double value, int step) => (int)Math.Ceiling(value / step) * step;
}
