extern alias worker;

using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;
using Shortener.Contracts;
using Shortener.Tests.Api;
using Shortener.Tests.Infrastructure;
using Shortener.Tests.Worker;
using StackExchange.Redis;

namespace Shortener.Tests.Observability;

/// <summary>
/// OpenTelemetry listeners are process-wide: other test hosts starting and disposing their tracer
/// providers in parallel can change whether a request gets an activity. These tests run alone.
/// </summary>
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
public sealed class TelemetryCollection;

/// <summary>One redirect, followed through its spans, the click stream, the worker's batch span, metrics and logs.</summary>
[Collection(nameof(TelemetryTests))]
public sealed class TelemetryTests : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private readonly List<LogRecord> _logs = [];
    private WorkerTestKit _kit = null!;
    private ApiFactory _api = null!;

    public async Task InitializeAsync()
    {
        _kit = await WorkerTestKit.CreateAsync(nameof(TelemetryTests));
        _api = new ApiFactory(_kit.Postgres, _kit.Redis.ConnectionString, testServices: services =>
        {
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
            services.ConfigureOpenTelemetryLoggerProvider(logging => logging.AddInMemoryExporter(_logs));
        });
        await LocalProcess.WaitUntilAsync(async () => (await _api.Client().GetAsync("/api/links?limit=1")).IsSuccessStatusCode,
            TimeSpan.FromSeconds(30), "the bootstrap key");
    }

    public async Task DisposeAsync()
    {
        try
        {
            await _api.DisposeAsync();
        }
        finally
        {
            await _kit.DisposeAsync(); // its Redis and PostgreSQL connections, even if the API's stop threw
        }
    }

    private Activity[] Spans()
    {
        lock (_spans) return [.. _spans];
    }

    [Fact]
    public async Task ARedirectIsTracedThroughCacheDatabaseStreamAndWorker()
    {
        var client = _api.Client();
        // A link no cache has seen (creating through the API would put it in Redis), so the redirect reads PostgreSQL.
        var code = "traced" + Guid.NewGuid().ToString("N")[..8];
        await using (var db = new Npgsql.NpgsqlConnection(_kit.Postgres))
        {
            await db.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand("INSERT INTO links (code, target_url, owner) VALUES ($1, 'https://example.com/traced', 'telemetry')", db);
            insert.Parameters.AddWithValue(code);
            await insert.ExecuteNonQueryAsync();
        }
        Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/" + code)).StatusCode);

        Activity server = null!;
        await LocalProcess.WaitUntilAsync(() =>
        {
            // The exporter sees every host's spans in this process (tests run in parallel): pick ours by path.
            server = Spans().LastOrDefault(s => s.Kind == ActivityKind.Server && (string?)s.GetTagItem("url.path") == "/" + code)!;
            return Task.FromResult(server is not null);
        }, TimeSpan.FromSeconds(5), "the redirect's server span");

        var trace = Spans().Where(s => s.TraceId == server.TraceId).ToList();
        var lookup = Assert.Single(trace, s => s.DisplayName == "link-cache lookup");
        Assert.Equal(server.SpanId, lookup.ParentSpanId);
        Assert.Equal("postgresql", lookup.GetTagItem("shortener.cache.tier"));
        Assert.Contains(trace, s => s.Source.Name == "Npgsql" && s.ParentSpanId == lookup.SpanId);

        // The flushed click batch carries the redirect's trace context in its sample...
        Shortener.Contracts.ClickBatch batch = null!;
        await LocalProcess.WaitUntilAsync(async () =>
        {
            batch = (await ClickStreamReader.BatchesAsync(_kit.Db)).FirstOrDefault(b => b.Counts.Any(c => c.Key.Code == code))!;
            return batch is not null;
        }, TimeSpan.FromSeconds(5), "the click batch");
        Assert.Contains(batch.TraceParents, p => p.Contains(server.TraceId.ToHexString(), StringComparison.Ordinal));
        Assert.Contains(Spans(), s => s.DisplayName == "click-stream publish" && s.Kind == ActivityKind.Producer);

        // ...and the worker's batch span links back to it.
        var batches = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == worker::Shortener.Worker.ClickAggregator.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => { lock (batches) batches.Add(activity); },
        };
        ActivitySource.AddActivityListener(listener);
        var aggregator = _kit.Aggregator(WorkerTestKit.FastOptions());
        await aggregator.StartAsync(CancellationToken.None);
        await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(10));
        await aggregator.StopAsync(CancellationToken.None);

        lock (batches)
        {
            Assert.Contains(batches, b => b.Kind == ActivityKind.Consumer && b.Links.Any(l => l.Context.TraceId == server.TraceId));
        }
    }

    [Fact]
    public async Task MetricsHaveTheSloBucketAndTraceExemplars()
    {
        var client = _api.Client();
        for (var i = 0; i < 20; i++) await client.GetAsync("/unknown-code-" + i);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/openmetrics-text"));
        var metrics = await (await client.SendAsync(request)).Content.ReadAsStringAsync();

        var bucket = metrics.Split('\n').First(l => l.StartsWith("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal)
            && l.Contains("http_route=\"/{code}\"", StringComparison.Ordinal) && l.Contains("le=\"0.3\"", StringComparison.Ordinal));
        Assert.NotNull(bucket);
        Assert.Matches("trace_id=\"[0-9a-f]{32}\"", metrics);
    }

    [Fact]
    public async Task LogsWrittenDuringARequestCarryItsTraceId()
    {
        var client = fixtureClient();
        // An invalid key is logged by the authentication handler, inside the request's trace.
        client.DefaultRequestHeaders.Add("X-Api-Key", "sk_invalid");
        await client.GetAsync("/api/links");

        await LocalProcess.WaitUntilAsync(() =>
        {
            lock (_logs) return Task.FromResult(_logs.Any(l => l.TraceId != default));
        }, TimeSpan.FromSeconds(5), "a log record with a trace id");
        lock (_logs)
        {
            var traces = Spans().Where(s => s.Kind == ActivityKind.Server).Select(s => s.TraceId).ToHashSet();
            Assert.Contains(_logs, l => l.TraceId != default && traces.Contains(l.TraceId));
        }

        HttpClient fixtureClient() => _api.Client(apiKey: null);
    }
}
