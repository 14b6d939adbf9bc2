using System.Text.Json;

namespace Shortener.Kubernetes;

/// <summary>The measurements of one `make bench` run (bench/results/*.json) the capacity model uses.</summary>
public sealed record BenchFigures(
    string Source,
    string GitSha,
    int Cores,
    double ApiCpuPerRequestUs,
    double ApiRssMb,
    double WorkerEventsPerSecond,
    double WorkerCpuFraction,
    double WorkerRssMb,
    double WarmRedirectRps,
    double RedisCpuFractionAtWarmRedirect,
    double ColdRedirectRps,
    double PostgresCpuFractionAtColdRedirect,
    double CreateRps,
    double PostgresCpuFractionAtCreate,
    double MixedRps,
    double PostgresCpuFractionAtMixed,
    double MixedCreateShare)
{
    /// <summary>The blend the API is sized for: 95 % redirects, 5 % creates (bench/lua/mixed.lua).</summary>
    public const string SizingScenario = "mixed_95_5";

    public static BenchFigures Load(string path, string displayPath)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        if (root.GetProperty("mode").GetString() != "full")
        {
            throw new InvalidDataException($"{displayPath} is a --quick run: size from a full `make bench` run");
        }
        var scenarios = root.GetProperty("scenarios");
        JsonElement Scenario(string name) => scenarios.TryGetProperty(name, out var s)
            ? s : throw new InvalidDataException($"{displayPath} has no scenario {name}");
        static double Number(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number
            ? v.GetDouble() : throw new InvalidDataException($"missing number {name}");

        var apiRss = scenarios.EnumerateObject()
            .Select(s => s.Value.TryGetProperty("api_rss_mb_max", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0)
            .Max();
        // The per-click drain (one stream entry, one ledger row per key): the conservative cost of a key, whatever
        // the entry holds. Runs since 2026-12-03 keep it beside the pre-aggregated fills under worker_drains.
        var drain = root.TryGetProperty("worker_drains", out var drains)
            ? drains.GetProperty("per_click_events")
            : root.GetProperty("worker_drain");
        var drainedPerSecond = drain.TryGetProperty("entries_per_s", out _) ? "entries_per_s" : "events_per_s";
        var soak = root.GetProperty("soak");
        var mixed = Scenario(SizingScenario);
        return new BenchFigures(
            Source: displayPath,
            GitSha: root.GetProperty("git_sha").GetString() ?? "unknown",
            Cores: root.GetProperty("machine").GetProperty("nproc").GetInt32(),
            ApiCpuPerRequestUs: Number(mixed, "api_cpu_us_per_request"),
            ApiRssMb: apiRss,
            WorkerEventsPerSecond: Number(drain, drainedPerSecond),
            WorkerCpuFraction: Number(drain, "worker_cpu_pct") / 100,
            WorkerRssMb: Math.Max(Number(drain, "worker_rss_mb"), Number(soak, "worker_rss_last_mb")),
            // A redirect that reaches Redis: the warm one (codes in Redis's cache). The hot redirect is served from the
            // API's in-process tier and, since that tier, costs Redis nothing (0.000 cores on 2026-12-03).
            WarmRedirectRps: Number(Scenario("warm_redirect"), "rps"),
            RedisCpuFractionAtWarmRedirect: Number(Scenario("warm_redirect"), "redis_cpu_pct") / 100,
            ColdRedirectRps: Number(Scenario("cold_redirect"), "rps"),
            PostgresCpuFractionAtColdRedirect: Number(Scenario("cold_redirect"), "postgres_cpu_pct") / 100,
            CreateRps: Number(Scenario("create_link"), "rps"),
            PostgresCpuFractionAtCreate: Number(Scenario("create_link"), "postgres_cpu_pct") / 100,
            MixedRps: Number(mixed, "rps"),
            PostgresCpuFractionAtMixed: Number(mixed, "postgres_cpu_pct") / 100,
            MixedCreateShare: 0.05);
    }
}
