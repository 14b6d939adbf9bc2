using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Shortener.ServiceDefaults;

public static class Extensions
{
    /// <summary>Paths that are probed constantly and must not produce traces.</summary>
    private static readonly string[] s_probePaths = ["/livez", "/readyz", "/healthz", "/metrics", "/version"];

    private static readonly string[] s_aspNetCoreMeters =
        ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting"];

    /// <summary>Latency buckets in seconds; 0.3 s is the SLO threshold, so it must be a bucket boundary.</summary>
    private static readonly double[] s_httpDurationBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.3, 0.5, 0.75, 1, 2.5, 5, 10];

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // The application's assembly, not the entry assembly (which is the test host under WebApplicationFactory).
        var buildInfo = BuildInfo.FromAssembly(Assembly.Load(new AssemblyName(builder.Environment.ApplicationName)));
        builder.Services.AddSingleton(buildInfo);

        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
        builder.Logging.Configure(options =>
            options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);

        builder.Services.AddOptions<ShutdownOptions>().BindConfiguration(ShutdownOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<ShutdownDrain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        builder.Services.Configure<HostOptions>(host =>
        {
            var shutdown = builder.Configuration.GetSection(ShutdownOptions.Section).Get<ShutdownOptions>() ?? new ShutdownOptions();
            host.ShutdownTimeout = shutdown.DrainDelay + shutdown.FinishTimeout;
        });

        builder.Services.AddHealthChecks()
            .AddCheck<ShutdownDrain>("draining", tags: [HealthTags.Ready]);

        if (builder.Configuration.GetValue("Telemetry:Enabled", true))
        {
            builder.AddOpenTelemetry(buildInfo);
        }
        return builder;
    }

    private static void AddOpenTelemetry(this IHostApplicationBuilder builder, BuildInfo buildInfo)
    {
        var otlpEndpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var useOtlp = !string.IsNullOrWhiteSpace(otlpEndpoint);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(
                    serviceName: builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName,
                    serviceVersion: buildInfo.Version,
                    serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}")
                .AddAttributes([
                    new("deployment.environment.name", builder.Environment.EnvironmentName.ToLowerInvariant()),
                    new("vcs.revision", buildInfo.GitSha),
                ]))
            .WithMetrics(metrics => metrics
                // The ASP.NET Core meters the dashboards and alerts use, by name: routing and the per-request
                // authentication/authorization/lease-duration instruments cost CPU on every redirect and feed no panel.
                .AddMeter(s_aspNetCoreMeters)
                .AddView("aspnetcore.rate_limiting.request_lease.duration", MetricStreamConfiguration.Drop)
                .AddView("aspnetcore.rate_limiting.request.time_in_queue", MetricStreamConfiguration.Drop)
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("Npgsql")
                .AddMeter("Shortener.*")
                .AddView("http.server.request.duration",
                    new ExplicitBucketHistogramConfiguration { Boundaries = s_httpDurationBuckets })
                .SetExemplarFilter(ExemplarFilterType.TraceBased)
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(options =>
                    options.Filter = context => !s_probePaths.Contains(context.Request.Path.Value, StringComparer.OrdinalIgnoreCase))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                // Timing events (enqueued/sent/received) triple the size of every Redis span; the duration is enough.
                .AddRedisInstrumentation(redis => redis.EnrichActivityWithTimingEvents = false)
                .AddSource("Shortener.*"));

        // Traces and logs only: Prometheus scrapes /metrics, and nothing reads OTLP metrics (UseOtlpExporter
        // would push all three signals).
        if (useOtlp)
        {
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter())
                .WithLogging(logging => logging.AddOtlpExporter());
        }
    }

    /// <summary>/livez, /readyz, /healthz, /version and /metrics, in every environment.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Liveness: the process answers; no dependency is checked, so a database outage never restarts us.
        app.MapHealthChecks("/livez", new HealthCheckOptions { Predicate = _ => false }).DisableHttpMetrics();
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(HealthTags.Ready),
        }).DisableHttpMetrics();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { ResponseWriter = WriteHealthJson }).DisableHttpMetrics();
        app.MapGet("/version", (BuildInfo info) => TypedResults.Ok(info)).ExcludeFromDescription();

        if (app.Configuration.GetValue("Telemetry:Enabled", true))
        {
            app.MapPrometheusScrapingEndpoint("/metrics").DisableHttpMetrics();
        }
        return app;
    }

    private static Task WriteHealthJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            durationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 2),
            checks = report.Entries.ToDictionary(
                entry => entry.Key,
                entry => new
                {
                    status = entry.Value.Status.ToString(),
                    durationMs = Math.Round(entry.Value.Duration.TotalMilliseconds, 2),
                    description = entry.Value.Description,
                    data = entry.Value.Data.Count == 0 ? null : entry.Value.Data,
                }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, s_healthJson, context.RequestAborted);
    }

    private static readonly JsonSerializerOptions s_healthJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };
}
