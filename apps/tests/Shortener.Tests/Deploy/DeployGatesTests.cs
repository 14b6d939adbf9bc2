extern alias deploy;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using deploy::Shortener.Deploy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Deploy;

/// <summary>The deploy tool against a real Prometheus (SLO gate) and a real Alertmanager (deploy-window silence).</summary>
public sealed class DeployGatesTests
{
    [Fact]
    public async Task TheSloGatePassesCleanTrafficAndFailsWhenTheErrorRatioIsAboveOnePercent()
    {
        await using var api = await FakeApiMetrics.StartAsync();
        var work = Directory.CreateTempSubdirectory("shortener-slo-gate-");
        var port = TestPorts.Next();
        var config = Path.Combine(work.FullName, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 500ms
            scrape_configs:
              - job_name: api
                static_configs:
                  - targets: ["127.0.0.1:{api.Port}"]
            """);
        using var prometheus = LocalProcess.Start("prometheus", [$"--config.file={config}", $"--storage.tsdb.path={work.FullName}/data",
            $"--web.listen-address=127.0.0.1:{port}"]);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await LocalProcess.WaitUntilAsync(async () =>
            {
                try { return (await http.GetAsync("/-/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(30), "Prometheus to be ready");
            // Scraped a few times, so the gate's window holds samples.
            await LocalProcess.WaitUntilAsync(async () =>
                (await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString("count_over_time(up{job=\"api\"}[10s])")))
                    .Contains("\"value\":[", StringComparison.Ordinal)
                && (await http.GetStringAsync("/api/v1/query?query=" + Uri.EscapeDataString("count_over_time(up{job=\"api\"}[10s]) >= 4")))
                    .Contains("\"value\":[", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "Prometheus to scrape the API's metrics");

            var gate = new PrometheusSloGate(http, TimeSpan.FromSeconds(3));
            var clean = await gate.CheckAsync(CancellationToken.None);
            Assert.True(clean.Passed, clean.Detail);
            Assert.Contains("5xx ratio 0.00 %", clean.Detail, StringComparison.Ordinal);

            api.ErrorRatio = 0.2;
            var failing = await gate.CheckAsync(CancellationToken.None);
            Assert.False(failing.Passed, failing.Detail);
        }
        finally
        {
            LocalProcess.Signal(prometheus, LocalProcess.SigTerm);
            await prometheus.WaitForExitAsync();
            work.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheDeploySilenceCoversOnlyPerInstanceAlertsOfApiAndWorkerAndIsExpiredAfterwards()
    {
        var work = Directory.CreateTempSubdirectory("shortener-am-");
        var port = TestPorts.Next();
        var config = Path.Combine(work.FullName, "alertmanager.yml");
        await File.WriteAllTextAsync(config, "route:\n  receiver: none\nreceivers:\n  - name: none\n");
        using var alertmanager = LocalProcess.Start("prometheus-alertmanager", [$"--config.file={config}",
            $"--storage.path={work.FullName}", $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="]);
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await LocalProcess.WaitUntilAsync(async () =>
            {
                try { return (await http.GetAsync("/-/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(30), "Alertmanager to be ready");

            var silence = new DeploySilence(http);
            var id = await silence.CreateAsync("v1.2.3", TimeSpan.FromMinutes(20), CancellationToken.None);
            var stored = JsonDocument.Parse(await http.GetStringAsync($"/api/v2/silence/{id}")).RootElement;
            Assert.Equal("active", stored.GetProperty("status").GetProperty("state").GetString());
            var matchers = stored.GetProperty("matchers").EnumerateArray()
                .ToDictionary(m => m.GetProperty("name").GetString()!, m => m.GetProperty("value").GetString()!);
            Assert.Equal("TargetDown|InstanceNotReady", matchers["alertname"]);
            Assert.Equal("api|worker", matchers["service"]);

            await silence.ExpireAsync(id, CancellationToken.None);
            stored = JsonDocument.Parse(await http.GetStringAsync($"/api/v2/silence/{id}")).RootElement;
            Assert.Equal("expired", stored.GetProperty("status").GetProperty("state").GetString());
        }
        finally
        {
            LocalProcess.Signal(alertmanager, LocalProcess.SigTerm);
            await alertmanager.WaitForExitAsync();
            work.Delete(recursive: true);
        }
    }

    /// <summary>The API's request histogram as Prometheus scrapes it, with counters growing 200 requests/s.</summary>
    private sealed class FakeApiMetrics : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private double _ok;
        private double _errors;
        private TimeSpan _last;

        private FakeApiMetrics(int port)
        {
            Port = port;
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
            builder.Logging.ClearProviders();
            _app = builder.Build();
            _app.MapGet("/metrics", Render);
        }

        public int Port { get; }

        public double ErrorRatio { get; set; }

        public static async Task<FakeApiMetrics> StartAsync()
        {
            var metrics = new FakeApiMetrics(TestPorts.Next());
            await metrics._app.StartAsync();
            return metrics;
        }

        private IResult Render()
        {
            lock (_clock)
            {
                var now = _clock.Elapsed;
                var requests = (now - _last).TotalSeconds * 200;
                _last = now;
                _errors += requests * ErrorRatio;
                _ok += requests * (1 - ErrorRatio);
            }
            var text = "# TYPE http_server_request_duration_seconds histogram\n" + Series("302", _ok) + Series("500", _errors);
            return Results.Text(text, "text/plain; version=0.0.4");
        }

        // Every request answered within 50 ms: le=0.1 holds them all.
        private static string Series(string status, double count)
        {
            var n = Math.Floor(count).ToString(CultureInfo.InvariantCulture);
            var labels = $"http_request_method=\"GET\",http_response_status_code=\"{status}\",http_route=\"/{{code}}\"";
            return $"http_server_request_duration_seconds_bucket{{{labels},le=\"0.1\"}} {n}\n"
                + $"http_server_request_duration_seconds_bucket{{{labels},le=\"0.3\"}} {n}\n"
                + $"http_server_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {n}\n"
                + $"http_server_request_duration_seconds_sum{{{labels}}} {(Math.Floor(count) * 0.05).ToString(CultureInfo.InvariantCulture)}\n"
                + $"http_server_request_duration_seconds_count{{{labels}}} {n}\n";
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
