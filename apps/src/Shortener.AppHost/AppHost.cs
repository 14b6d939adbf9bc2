using System.Globalization;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using Shortener.AppHost.LocalRun;

var builder = DistributedApplication.CreateBuilder(args);

var local = builder.Configuration.GetSection("Local");
var repoRoot = FindRepoRoot(builder.AppHostDirectory);
var dataDir = Path.GetFullPath(local["DataDir"] ?? Path.Combine(repoRoot, ".data"));
var ports = LocalPorts.From(local);
var observability = local.GetValue("Observability", true);

// Before anything starts: another run of this data, a taken port, leftovers of a killed run.
// The dashboard's ports, when run-local.sh set them (the test builder runs without a dashboard).
string[] dashboardSettings = ["ASPNETCORE_URLS", "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"];
var dashboardPorts = dashboardSettings
    .Select(name => Uri.TryCreate(builder.Configuration[name], UriKind.Absolute, out var url) ? ("dashboard", url.Port) : default)
    .Where(named => named.Port > 0);
if (Preflight.Check(dataDir, ports.Named(observability).Concat(dashboardPorts)) is { } problem)
{
    Console.Error.WriteLine("make run: " + problem);
    return 2;
}
var runRecord = new RunRecord(dataDir);
runRecord.RecordAppHost();
Directory.CreateDirectory(Path.Combine(dataDir, "redis"));

var postgresConnection = $"Host=127.0.0.1;Port={ports.Postgres};Username=postgres;Database=shortener;Timeout=5;Command Timeout=10";
var redisConnection = $"127.0.0.1:{ports.Redis}";
var bootstrapKeyFile = EnsureBootstrapKey(Path.Combine(dataDir, "bootstrap-api-key"));

// No container runtime needed: PostgreSQL and Redis are local processes with their data under .data/.
builder.Services.AddHealthChecks()
    .AddAsyncCheck("postgres-accepts-queries", ct => PostgresReadyAsync(postgresConnection, ct))
    .AddAsyncCheck("redis-answers-ping", ct => RedisReadyAsync(ports.Redis, ct));

// postgres.sh keeps the cluster where the postgres user can reach it when the clone is not traversable.
var postgres = builder.AddExecutable("postgres", "bash", repoRoot,
        "scripts/postgres.sh", Path.Combine(dataDir, "postgres"), Port(ports.Postgres))
    .WithHealthCheck("postgres-accepts-queries");

var redis = builder.AddExecutable("redis", "redis-server", Path.Combine(dataDir, "redis"),
        "--port", Port(ports.Redis), "--bind", "127.0.0.1",
        // AOF: the click stream lives in Redis and must survive a restart.
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--dir", Path.Combine(dataDir, "redis"))
    .WithHealthCheck("redis-answers-ping");

var migrator = builder.AddProject<Projects.Shortener_Migrations>("migrator")
    .WithEnvironment("ConnectionStrings__postgres", postgresConnection)
    .WaitFor(postgres);

builder.AddProject<Projects.Shortener_Api>("api", launchProfileName: null)
    .WithHttpEndpoint(port: ports.Api, isProxied: false)
    .WithHttpHealthCheck("/readyz")
    .WithEnvironment("ConnectionStrings__postgres", postgresConnection)
    .WithEnvironment("ConnectionStrings__redis", redisConnection)
    .WithEnvironment("Auth__BootstrapApiKeyFile", bootstrapKeyFile)
    // Without a launch profile nothing sets it; Development serves the /scalar API reference.
    .WithEnvironment("ASPNETCORE_ENVIRONMENT", builder.Environment.EnvironmentName)
    .WithEnvironment("Shutdown__DrainDelay", "00:00:01")
    // Game days and `make chaos` drive the local API; never on by default elsewhere.
    .WithEnvironment("Faults__Enabled", "true")
    .WaitFor(redis)
    .WaitForCompletion(migrator);

builder.AddProject<Projects.Shortener_Worker>("worker", launchProfileName: null)
    .WithHttpEndpoint(port: ports.Worker, isProxied: false)
    .WithHttpHealthCheck("/readyz")
    .WithEnvironment("ConnectionStrings__postgres", postgresConnection)
    .WithEnvironment("ConnectionStrings__redis", redisConnection)
    .WithEnvironment("Shutdown__DrainDelay", "00:00:00")
    .WaitFor(redis)
    .WaitForCompletion(migrator);

if (observability)
{
    AddLocalObservability(builder, repoRoot, dataDir, ports);
}

var outcome = new RunOutcome();
var dashboard = builder.Configuration["ASPNETCORE_URLS"] ?? "(off)";
builder.Services.AddSingleton(outcome);
builder.Services.AddSingleton(runRecord);
builder.Services.AddHostedService(services => ActivatorUtilities.CreateInstance<Watchdog>(services,
    local.GetValue("StartupTimeout", TimeSpan.FromMinutes(3)), ReadyBanner(ports, observability, dataDir, dashboard)));

builder.Build().Run();

// DCP stops the processes after the AppHost returns; whatever is still alive then is stopped by its recorded PID.
RunRecord.StopLeftovers(dataDir, patience: TimeSpan.FromSeconds(30), grace: TimeSpan.FromSeconds(10));
RunRecord.Forget(dataDir);
return outcome.ExitCode;

static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

static string ReadyBanner(LocalPorts ports, bool observability, string dataDir, string dashboard)
{
    var api = $"http://127.0.0.1:{ports.Api}";
    var lines = new List<string>
    {
        "",
        "  Ready in {seconds} s. Ctrl-C stops everything.",
        $"  API            {api}          (OpenAPI: /openapi/v1.json, UI: /scalar)",
        $"  Worker         http://127.0.0.1:{ports.Worker}/lag",
        $"  Health         {api}/healthz   /readyz   /livez   /version   /metrics",
        $"  Dashboard      {dashboard}          (Aspire: traces, logs, metrics; login link printed above)",
    };
    if (observability)
    {
        lines.Add($"  Prometheus     http://127.0.0.1:{ports.Prometheus}           (alerts: /alerts)    Alertmanager http://127.0.0.1:{ports.Alertmanager}");
        lines.Add($"  Exporters      node :{ports.NodeExporter}  blackbox :{ports.Blackbox}  redis :{ports.RedisExporter}  postgres :{ports.PostgresExporter}");
        lines.Add("  Faults         make chaos FAULT=errors RATE=0.3 FOR=5m    make chaos FAULT=clear");
    }
    lines.Add($"  PostgreSQL     127.0.0.1:{ports.Postgres} (user postgres, database shortener)   Redis 127.0.0.1:{ports.Redis}");
    lines.Add($"  Data           {dataDir}   (kept across runs; make clean-data wipes it)");
    lines.Add($"  Admin API key  {Path.Combine(dataDir, "bootstrap-api-key")}");
    lines.Add($"                 curl -H \"Authorization: Bearer $(cat {Path.Combine(dataDir, "bootstrap-api-key")})\" {api}/api/links");
    lines.Add("");
    return string.Join(Environment.NewLine, lines);
}

// Prometheus, Alertmanager and the exporters from Debian's packages, as local processes reading the
// same observability/ files as Docker Compose; only the targets directory differs (local, on loopback).
static void AddLocalObservability(IDistributedApplicationBuilder builder, string repoRoot, string dataDir, LocalPorts ports)
{
    var observability = Path.Combine(repoRoot, "observability");
    var prometheusDir = Path.Combine(dataDir, "prometheus");
    Directory.CreateDirectory(prometheusDir);
    Link(Path.Combine(prometheusDir, "prometheus.yml"), Path.Combine(observability, "prometheus", "prometheus.yml"));
    Link(Path.Combine(prometheusDir, "rules"), Path.Combine(observability, "prometheus", "rules"));
    // The shipped local targets name the default ports: this run's copy names the ports it uses.
    var targets = Path.Combine(prometheusDir, "targets");
    if (File.Exists(targets)) File.Delete(targets);
    Directory.CreateDirectory(targets);
    foreach (var file in Directory.GetFiles(Path.Combine(observability, "prometheus", "targets", "local"), "*.yml"))
    {
        File.WriteAllText(Path.Combine(targets, Path.GetFileName(file)), ports.Rewrite(File.ReadAllText(file)));
    }

    var alertmanagerDir = Path.Combine(dataDir, "alertmanager");
    Directory.CreateDirectory(alertmanagerDir);
    RenderLocalAlertmanagerConfig(Path.Combine(observability, "alertmanager", "render-local.sh"), Path.Combine(alertmanagerDir, "alertmanager.yml"));

    var loopback = (int port) => "127.0.0.1:" + Port(port);
    builder.AddExecutable("prometheus", "prometheus", prometheusDir,
        "--config.file=" + Path.Combine(prometheusDir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(prometheusDir, "data"),
        "--storage.tsdb.retention.time=31d", "--web.listen-address=" + loopback(ports.Prometheus), "--web.enable-lifecycle");
    builder.AddExecutable("alertmanager", "prometheus-alertmanager", alertmanagerDir,
        "--config.file=" + Path.Combine(alertmanagerDir, "alertmanager.yml"), "--storage.path=" + Path.Combine(alertmanagerDir, "data"),
        "--web.listen-address=" + loopback(ports.Alertmanager), "--cluster.listen-address=", "--web.external-url=http://" + loopback(ports.Alertmanager));
    builder.AddExecutable("node-exporter", "prometheus-node-exporter", dataDir, "--web.listen-address=" + loopback(ports.NodeExporter));
    builder.AddExecutable("blackbox-exporter", "prometheus-blackbox-exporter", dataDir,
        "--config.file=/etc/prometheus/blackbox.yml", "--web.listen-address=" + loopback(ports.Blackbox));
    builder.AddExecutable("redis-exporter", "prometheus-redis-exporter", dataDir,
        "-redis.addr", "redis://" + loopback(ports.Redis), "-web.listen-address", loopback(ports.RedisExporter));
    builder.AddExecutable("postgres-exporter", "prometheus-postgres-exporter", dataDir, "--web.listen-address=" + loopback(ports.PostgresExporter))
        .WithEnvironment("DATA_SOURCE_NAME", "postgresql://postgres@" + loopback(ports.Postgres) + "/shortener?sslmode=disable");
}

static void Link(string path, string target)
{
    if (Directory.Exists(path) || File.Exists(path)) File.Delete(path);
    File.CreateSymbolicLink(path, target);
}

static void RenderLocalAlertmanagerConfig(string script, string output)
{
    using var render = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", [script])
    {
        RedirectStandardOutput = true,
    }) ?? throw new InvalidOperationException("Could not run " + script);
    var config = render.StandardOutput.ReadToEnd();
    render.WaitForExit();
    if (render.ExitCode != 0) throw new InvalidOperationException($"{script} failed with exit code {render.ExitCode}");
    File.WriteAllText(output, config);
}

static string FindRepoRoot(string start)
{
    for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "global.json"))) return dir.FullName;
    }
    throw new InvalidOperationException($"No global.json above {start}: run the AppHost from the repository.");
}

// The first admin key: generated once, kept in a file only its owner can read.
static string EnsureBootstrapKey(string path)
{
    if (!File.Exists(path))
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = "sk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(path, key + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
    return path;
}

static async Task<HealthCheckResult> PostgresReadyAsync(string connectionString, CancellationToken ct)
{
    try
    {
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false, Timeout = 2 };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(ct);
        return HealthCheckResult.Healthy();
    }
    catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
    {
        return HealthCheckResult.Unhealthy(ex.Message);
    }
}

static async Task<HealthCheckResult> RedisReadyAsync(int port, CancellationToken ct)
{
    try
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, ct);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), ct);
        var buffer = new byte[16];
        var read = await stream.ReadAsync(buffer, ct);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("unexpected PING reply");
    }
    catch (Exception ex) when (ex is SocketException or IOException)
    {
        return HealthCheckResult.Unhealthy(ex.Message);
    }
}
