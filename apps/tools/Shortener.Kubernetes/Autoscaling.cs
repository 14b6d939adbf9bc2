namespace Shortener.Kubernetes;

/// <summary>One scaling policy of an autoscaling/v2 HPA behavior (type Pods or Percent per period).</summary>
public sealed record ScalingPolicy(string Type, int Value, int PeriodSeconds);

public sealed record ScalingRules(int StabilizationWindowSeconds, string SelectPolicy, IReadOnlyList<ScalingPolicy> Policies);

/// <summary>What a ScaledObject gives the HPA KEDA creates for it.</summary>
public sealed record AutoscalerSpec(int MinReplicas, int MaxReplicas, ScalingRules ScaleUp, ScalingRules ScaleDown);

/// <summary>
/// The HPA controller's decision, as in kubernetes/pkg/controller/podautoscaler (horizontal.go,
/// replica_calculator.go): per metric a ratio to its target, no change within the 10 % tolerance,
/// the largest proposal wins, stabilised over the behavior windows, then rate-limited by the policies.
/// </summary>
public sealed class HorizontalPodAutoscaler(AutoscalerSpec spec, double tolerance = 0.1)
{
    private readonly List<(double Time, int Replicas)> _recommendations = [];
    private readonly List<(double Time, int Change)> _events = [];

    public AutoscalerSpec Spec { get; } = spec;

    /// <summary>Resource metric, Utilization target in whole percent (as the controller computes it): ceil(current × utilisation / target).</summary>
    public int ForUtilization(int current, int utilizationPercent, int targetPercent)
    {
        var ratio = (double)utilizationPercent / targetPercent;
        return Math.Abs(ratio - 1) <= tolerance ? current : (int)Math.Ceiling(ratio * current);
    }

    /// <summary>External metric, AverageValue target (KEDA's triggers): ceil(total / target per pod).</summary>
    public int ForAverageValue(int current, double total, double targetPerPod)
    {
        var ratio = total / (targetPerPod * current);
        return Math.Abs(ratio - 1) <= tolerance ? current : (int)Math.Ceiling(total / targetPerPod);
    }

    /// <summary>One reconcile at <paramref name="now"/> seconds: the replica count the HPA sets.</summary>
    public int Decide(double now, int current, IEnumerable<int> proposals)
    {
        var proposal = proposals.DefaultIfEmpty(current).Max();
        _recommendations.Add((now, proposal));

        // Stabilisation: scale up to the lowest, down to the highest recommendation in the window.
        var upWindow = _recommendations.Where(r => r.Time > now - Spec.ScaleUp.StabilizationWindowSeconds || r.Time == now);
        var downWindow = _recommendations.Where(r => r.Time > now - Spec.ScaleDown.StabilizationWindowSeconds || r.Time == now);
        var desired = proposal > current ? Math.Max(current, upWindow.Min(r => r.Replicas))
            : proposal < current ? Math.Min(current, downWindow.Max(r => r.Replicas)) : current;

        if (desired > current) desired = Math.Min(desired, UpLimit(now, current));
        else if (desired < current) desired = Math.Max(desired, DownLimit(now, current));
        desired = Math.Clamp(desired, Spec.MinReplicas, Spec.MaxReplicas);
        if (desired != current) _events.Add((now, desired - current));
        return desired;
    }

    private int UpLimit(double now, int current)
    {
        var limits = Spec.ScaleUp.Policies.Select(p =>
        {
            var start = current - _events.Where(e => e.Time > now - p.PeriodSeconds && e.Change > 0).Sum(e => e.Change);
            return p.Type == "Pods" ? start + p.Value : (int)Math.Ceiling(start * (1 + p.Value / 100.0));
        }).ToList();
        return Spec.ScaleUp.SelectPolicy == "Min" ? limits.Min() : limits.Max();
    }

    private int DownLimit(double now, int current)
    {
        var limits = Spec.ScaleDown.Policies.Select(p =>
        {
            var start = current - _events.Where(e => e.Time > now - p.PeriodSeconds && e.Change < 0).Sum(e => e.Change);
            return p.Type == "Pods" ? start - p.Value : (int)Math.Floor(start * (1 - p.Value / 100.0));
        }).ToList();
        // "Max" picks the policy allowing the largest change, i.e. the lowest floor.
        return Spec.ScaleDown.SelectPolicy == "Min" ? limits.Max() : limits.Min();
    }
}

/// <summary>A second-by-second simulation of load against the API and the click stream.</summary>
public static class ScalingSimulation
{
    public const int SyncPeriodSeconds = 15; // HPA controller default (--horizontal-pod-autoscaler-sync-period)
    public const int PodStartSeconds = 10;   // image present, startup probe every 2 s

    public sealed record Sample(int Second, double Load, int Replicas, int Ready, double PerReadyPod, double Backlog);

    /// <summary>
    /// The API under <paramref name="rpsAt"/>: CPU at <paramref name="cpuTargetPercent"/> of the request and
    /// requests per second at <paramref name="rpsTarget"/> per pod, as the ScaledObject sets them.
    /// </summary>
    public static IReadOnlyList<Sample> Api(AutoscalerSpec spec, Func<int, double> rpsAt, int seconds,
        double cpuPerRequestUs, double cpuRequestCores, double cpuLimitCores, int cpuTargetPercent, double rpsTarget)
    {
        var hpa = new HorizontalPodAutoscaler(spec);
        var capacityPerPod = cpuLimitCores / (cpuPerRequestUs / 1e6);
        var replicas = spec.MinReplicas;
        var starting = new List<int>(); // seconds at which pods become ready
        var ready = replicas;
        var samples = new List<Sample>();
        for (var t = 0; t < seconds; t++)
        {
            ready += starting.RemoveAll(s => s <= t);
            var load = rpsAt(t);
            var served = Math.Min(load, ready * capacityPerPod);
            if (t > 0 && t % SyncPeriodSeconds == 0)
            {
                var utilizationPercent = (int)(served / ready * cpuPerRequestUs / 1e6 / cpuRequestCores * 100);
                var next = hpa.Decide(t, replicas, [
                    hpa.ForUtilization(replicas, utilizationPercent, cpuTargetPercent),
                    hpa.ForAverageValue(replicas, served, rpsTarget),
                ]);
                ready = Resize(replicas, next, ready, starting, t);
                replicas = next;
            }
            samples.Add(new Sample(t, load, replicas, ready, load / ready, Math.Max(0, load - served)));
        }
        return samples;
    }

    /// <summary>
    /// The worker under <paramref name="clicksAt"/> clicks per second: lag is what arrived and was not
    /// yet drained (each ready worker drains <paramref name="drainPerWorker"/> per second); KEDA's
    /// redis-streams trigger proposes ceil(lag / lagCount).
    /// </summary>
    public static IReadOnlyList<Sample> Worker(AutoscalerSpec spec, Func<int, double> clicksAt, int seconds,
        double drainPerWorker, double lagCount)
    {
        var hpa = new HorizontalPodAutoscaler(spec);
        var replicas = spec.MinReplicas;
        var starting = new List<int>();
        var ready = replicas;
        double lag = 0;
        var samples = new List<Sample>();
        for (var t = 0; t < seconds; t++)
        {
            ready += starting.RemoveAll(s => s <= t);
            var arriving = clicksAt(t);
            lag = Math.Max(0, lag + arriving - ready * drainPerWorker);
            if (t > 0 && t % SyncPeriodSeconds == 0)
            {
                var next = hpa.Decide(t, replicas, [hpa.ForAverageValue(replicas, lag, lagCount)]);
                ready = Resize(replicas, next, ready, starting, t);
                replicas = next;
            }
            samples.Add(new Sample(t, arriving, replicas, ready, ready == 0 ? 0 : arriving / ready, lag));
        }
        return samples;
    }

    /// <summary>New pods become ready after <see cref="PodStartSeconds"/>; a scale-down removes starting pods first.</summary>
    private static int Resize(int current, int next, int ready, List<int> starting, int now)
    {
        if (next > current)
        {
            starting.AddRange(Enumerable.Repeat(now + PodStartSeconds, next - current));
            return ready;
        }
        var remove = current - next;
        var fromStarting = Math.Min(remove, starting.Count);
        starting.RemoveRange(starting.Count - fromStarting, fromStarting);
        return ready - (remove - fromStarting);
    }
}
