using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Shortener.Deploy;

public sealed record SloVerdict(bool Passed, string Detail);

public interface ISloGate
{
    Task<SloVerdict> CheckAsync(CancellationToken cancellationToken);
}

/// <summary>
/// After the rollout, waits <paramref name="window"/> and asks Prometheus for the API's error ratio
/// and p95 over that window (the SLOs of observability/slo/slos.json: 5xx below 1 %, p95 below 300 ms).
/// No traffic at all is a pass with a note: the readiness gates already held.
/// </summary>
public sealed class PrometheusSloGate(HttpClient prometheus, TimeSpan window, double maxErrorRatio = 0.01, double maxP95Seconds = 0.3) : ISloGate
{
    public async Task<SloVerdict> CheckAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(window, cancellationToken);
        var range = $"{(int)window.TotalSeconds}s";
        var errors = await QueryAsync(
            $"sum(rate(http_server_request_duration_seconds_count{{job=\"api\",http_response_status_code=~\"5..\"}}[{range}]))"
            + $" / sum(rate(http_server_request_duration_seconds_count{{job=\"api\"}}[{range}]))", cancellationToken);
        var p95 = await QueryAsync(
            $"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{{job=\"api\"}}[{range}])))", cancellationToken);
        if (errors is null || double.IsNaN(errors.Value)) return new SloVerdict(true, $"no API traffic in the last {range}: nothing to judge");

        var detail = string.Create(CultureInfo.InvariantCulture,
            $"5xx ratio {errors:P2} (max {maxErrorRatio:P0}), p95 {p95 * 1000:F0} ms (max {maxP95Seconds * 1000:F0} ms) over {range}");
        var passed = errors <= maxErrorRatio && (p95 is null || double.IsNaN(p95.Value) || p95 <= maxP95Seconds);
        return new SloVerdict(passed, detail);
    }

    private async Task<double?> QueryAsync(string query, CancellationToken cancellationToken)
    {
        using var response = await prometheus.GetAsync("/api/v1/query?query=" + Uri.EscapeDataString(query), cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var result = body.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0) return null;
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }
}
