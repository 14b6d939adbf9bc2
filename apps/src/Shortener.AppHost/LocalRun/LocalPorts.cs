using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Shortener.AppHost.LocalRun;

/// <summary>
/// Every loopback port of the local stack, each a setting (Local:ApiPort, ...) so two stacks, a test and
/// a user's own services can live side by side. The defaults are the ones the docs and the shipped local
/// Prometheus targets name.
/// </summary>
public sealed record LocalPorts(
    int Api, int Worker, int Console, int Postgres, int Redis,
    int Prometheus, int Alertmanager, int NodeExporter, int Blackbox, int RedisExporter, int PostgresExporter)
{
    public static readonly LocalPorts Defaults = new(8080, 8081, 8082, 55432, 56379, 9090, 9093, 9100, 9115, 9121, 9187);

    public static LocalPorts From(IConfiguration local) => new(
        local.GetValue("ApiPort", Defaults.Api),
        local.GetValue("WorkerPort", Defaults.Worker),
        local.GetValue("ConsolePort", Defaults.Console),
        local.GetValue("PostgresPort", Defaults.Postgres),
        local.GetValue("RedisPort", Defaults.Redis),
        local.GetValue("PrometheusPort", Defaults.Prometheus),
        local.GetValue("AlertmanagerPort", Defaults.Alertmanager),
        local.GetValue("NodeExporterPort", Defaults.NodeExporter),
        local.GetValue("BlackboxPort", Defaults.Blackbox),
        local.GetValue("RedisExporterPort", Defaults.RedisExporter),
        local.GetValue("PostgresExporterPort", Defaults.PostgresExporter));

    /// <summary>The ports a run needs free, named for the error message.</summary>
    public IEnumerable<(string Name, int Port)> Named(bool observability)
    {
        yield return ("API", Api);
        yield return ("worker", Worker);
        yield return ("web console", Console);
        yield return ("PostgreSQL", Postgres);
        yield return ("Redis", Redis);
        if (!observability) yield break;
        yield return ("Prometheus", Prometheus);
        yield return ("Alertmanager", Alertmanager);
        yield return ("node exporter", NodeExporter);
        yield return ("blackbox exporter", Blackbox);
        yield return ("Redis exporter", RedisExporter);
        yield return ("PostgreSQL exporter", PostgresExporter);
    }

    /// <summary>
    /// Moves the shipped local targets (written for the default ports) to this run's ports, so Prometheus
    /// scrapes and probes what this run started.
    /// </summary>
    public string Rewrite(string targets)
    {
        var byDefault = new Dictionary<int, int>
        {
            [Defaults.Api] = Api,
            [Defaults.Worker] = Worker,
            [Defaults.Console] = Console,
            [Defaults.Postgres] = Postgres,
            [Defaults.Redis] = Redis,
            [Defaults.Prometheus] = Prometheus,
            [Defaults.Alertmanager] = Alertmanager,
            [Defaults.NodeExporter] = NodeExporter,
            [Defaults.Blackbox] = Blackbox,
            [Defaults.RedisExporter] = RedisExporter,
            [Defaults.PostgresExporter] = PostgresExporter,
        };
        return Regex.Replace(targets, @"127\.0\.0\.1:(\d+)", match =>
        {
            var port = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return "127.0.0.1:" + (byDefault.TryGetValue(port, out var actual) ? actual : port).ToString(CultureInfo.InvariantCulture);
        });
    }
}
