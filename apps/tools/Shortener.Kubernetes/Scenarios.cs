namespace Shortener.Kubernetes;

/// <summary>The load shapes the autoscalers are simulated against (docs/capacity.md, ScalingSimulationTests).</summary>
public static class Scenarios
{
    /// <summary>A surge: 4,000 rps, a one-minute ramp to 40,000 (10×), ten minutes there, back to 4,000.</summary>
    public static double ApiSurge(int t) => t switch
    {
        < 60 => 4_000,
        < 120 => 4_000 + (t - 60) / 60.0 * 36_000,
        < 720 => 40_000,
        _ => 4_000,
    };

    public const int ApiSurgeSeconds = 1_800;

    /// <summary>Clicks: 20,000/s, then five minutes at 150,000/s (2.6× one worker's drain rate), then 20,000/s.</summary>
    public static double ClickBurst(int t) => t is >= 30 and < 330 ? 150_000 : 20_000;

    public const int ClickBurstSeconds = 1_200;

    /// <summary>ClickLagGrowing (observability/prometheus/rules/symptoms.yml): lag above this for 15 minutes.</summary>
    public const double LagAlertThreshold = 10_000;
    public const int LagAlertForSeconds = 15 * 60;
}
