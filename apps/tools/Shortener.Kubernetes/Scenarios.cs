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

    /// <summary>
    /// Keys one click-stream entry holds at most: the API's Clicks:BatchSize (ClickOptions, ADR 0010). Since
    /// ADR 0010 an entry is one API replica's flush (about one a second), not one click.
    /// </summary>
    public const int KeysPerEntry = 250;

    /// <summary>
    /// One worker's drain in stream entries per second, worst case: every entry full (250 distinct keys), each
    /// key costing what one per-click entry cost in the measured drain (bench per-click drain: worker_drains.per_click_events, worker_drain before 2026-12-03).
    /// Entries of a few hot codes are far cheaper; this is the floor KEDA's lagCount is sized against.
    /// </summary>
    public static double WorkerEntriesPerSecond(BenchFigures bench) => bench.WorkerEventsPerSecond / KeysPerEntry;

    /// <summary>
    /// Click-stream entries per second: 80 (20 API replicas flushing every second, some flushes split in
    /// several entries), then five minutes at 600 (30 replicas each flushing 5,000 distinct keys a second =
    /// 20 full entries: 2.6× one worker's worst-case drain), then 80.
    /// </summary>
    public static double ClickBurst(int t) => t is >= 30 and < 330 ? 600 : 80;

    public const int ClickBurstSeconds = 1_200;

    /// <summary>ClickLagGrowing (observability/prometheus/rules/symptoms.yml): lag above this many entries for 15 minutes.</summary>
    public const double LagAlertThreshold = 60;
    public const int LagAlertForSeconds = 15 * 60;
}
