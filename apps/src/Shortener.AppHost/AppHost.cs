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

// The roles of deploy/compose/postgres/initdb/20-roles.sql (scripts/postgres.sh applies them): the
// migrator as the schema owner, the API and worker as the DML-only application role. Trust on loopback.
string Postgres(string role) => $"Host=127.0.0.1;Port={ports.Postgres};Username={role};Database=shortener;Timeout=5;Command Timeout=10";
var ownerConnection = Postgres("shortener_owner");
var appConnection = Postgres("shortener_app");
var redisConnection = $"127.0.0.1:{ports.Redis}";
var bootstrapKeyFile = EnsureBootstrapKey(Path.Combine(dataDir, "bootstrap-api-key"));
// The ACL users of deploy/compose/redis/users.acl, with passwords kept under .data/redis-users.
var redisPasswords = EnsureRedisUsers(Path.Combine(repoRoot, "deploy", "compose", "redis", "users.acl"), Path.Combine(dataDir, "redis-users"));

// No container runtime needed: PostgreSQL and Redis are local processes with their data under .data/.
builder.Services.AddHealthChecks()
    // Ready once the application role can log in, i.e. after the roles were applied.
    .AddAsyncCheck("postgres-accepts-queries", ct => PostgresReadyAsync(appConnection, ct))
    .AddAsyncCheck("redis-answers-ping", ct => RedisReadyAsync(ports.Redis, File.ReadAllText(redisPasswords["shortener-exporter"]), ct));

// postgres.sh keeps the cluster where the postgres user can reach it when the clone is not traversable.
var postgres = builder.AddExecutable("postgres", "bash", repoRoot,
        "scripts/postgres.sh", Path.Combine(dataDir, "postgres"), Port(ports.Postgres))
    .WithEnvironment("SHORTENER_DATABASE", "shortener")
    // WAL archived into a local pgBackRest repository; `make backup` / `make restore` use the same config.
    .WithEnvironment("PGBACKREST_CONFIG", Path.Combine(dataDir, "pgbackrest", "pgbackrest.conf"))
    .WithHealthCheck("postgres-accepts-queries");

var redis = builder.AddExecutable("redis", "redis-server", Path.Combine(dataDir, "redis"),
        "--port", Port(ports.Redis), "--bind", "127.0.0.1",
        // AOF: the click stream lives in Redis and must survive a restart.
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--dir", Path.Combine(dataDir, "redis"),
        "--aclfile", Path.Combine(dataDir, "redis-users", "users.acl"))
    .WithHealthCheck("redis-answers-ping");

var migrator = builder.AddProject<Projects.Shortener_Migrations>("migrator")
    .WithEnvironment("ConnectionStrings__postgres", ownerConnection)
    // postgres.sh created the database; the owner role may not create databases.
    .WithEnvironment("Migrations__CreateDatabase", "false")
    .WaitFor(postgres);

var api = builder.AddProject<Projects.Shortener_Api>("api", launchProfileName: null)
    .WithHttpEndpoint(port: ports.Api, isProxied: false)
    .WithHttpHealthCheck("/readyz")
    .WithEnvironment("ConnectionStrings__postgres", appConnection)
    .WithEnvironment("ConnectionStrings__redis", redisConnection)
    .WithEnvironment("Redis__User", "shortener-api")
    .WithEnvironment("Redis__PasswordFile", redisPasswords["shortener-api"])
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
    .WithEnvironment("ConnectionStrings__postgres", appConnection)
    .WithEnvironment("ConnectionStrings__redis", redisConnection)
    .WithEnvironment("Redis__User", "shortener-worker")
    .WithEnvironment("Redis__PasswordFile", redisPasswords["shortener-worker"])
    .WithEnvironment("Shutdown__DrainDelay", "00:00:00")
    .WaitFor(redis)
    .WaitForCompletion(migrator);

// The web console: an API client with the signed-in user's key, no database or Redis credentials of its own.
builder.AddProject<Projects.Shortener_Web>("console", launchProfileName: null)
    .WithHttpEndpoint(port: ports.Console, isProxied: false)
    .WithHttpHealthCheck("/readyz")
    .WithEnvironment("Console__ApiBaseUrl", "http://127.0.0.1:" + Port(ports.Api))
    .WithEnvironment("ASPNETCORE_ENVIRONMENT", builder.Environment.EnvironmentName)
    .WithEnvironment("Shutdown__DrainDelay", "00:00:00")
    .WaitFor(api);

if (observability)
{
    AddLocalObservability(builder, repoRoot, dataDir, ports, redisPasswords["shortener-exporter"]);
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
        $"  Console        http://127.0.0.1:{ports.Console}          (sign in with the admin API key below)",
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
    lines.Add($"  PostgreSQL     127.0.0.1:{ports.Postgres} (database shortener: roles postgres, shortener_owner, shortener_app)");
    lines.Add($"  Redis          127.0.0.1:{ports.Redis} (ACL users shortener-api, -worker, -exporter; passwords in {Path.Combine(dataDir, "redis-users")})");
    lines.Add($"  Data           {dataDir}   (kept across runs; make clean-data wipes it)");
    lines.Add($"  Admin API key  {Path.Combine(dataDir, "bootstrap-api-key")}");
    lines.Add($"                 curl -H \"Authorization: Bearer $(cat {Path.Combine(dataDir, "bootstrap-api-key")})\" {api}/api/links");
    lines.Add("");
    return string.Join(Environment.NewLine, lines);
}

// Prometheus, Alertmanager and the exporters from Debian's packages, as local processes reading the
// same observability/ files as Docker Compose; only the targets directory differs (local, on loopback).
static void AddLocalObservability(IDistributedApplicationBuilder builder, string repoRoot, string dataDir, LocalPorts ports, string redisExporterPasswordFile)
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
        "--storage.tsdb.retention.time=35d", "--web.listen-address=" + loopback(ports.Prometheus), "--web.enable-lifecycle");
    builder.AddExecutable("alertmanager", "prometheus-alertmanager", alertmanagerDir,
        "--config.file=" + Path.Combine(alertmanagerDir, "alertmanager.yml"), "--storage.path=" + Path.Combine(alertmanagerDir, "data"),
        "--web.listen-address=" + loopback(ports.Alertmanager), "--cluster.listen-address=", "--web.external-url=http://" + loopback(ports.Alertmanager));
    // The textfile collector serves the backup metrics `make backup` writes (pgbackrest_*, postgres_wal_*).
    Directory.CreateDirectory(Path.Combine(dataDir, "pgbackrest", "metrics"));
    builder.AddExecutable("node-exporter", "prometheus-node-exporter", dataDir, "--web.listen-address=" + loopback(ports.NodeExporter),
        "--collector.textfile.directory=" + Path.Combine(dataDir, "pgbackrest", "metrics"));
    builder.AddExecutable("blackbox-exporter", "prometheus-blackbox-exporter", dataDir,
        "--config.file=/etc/prometheus/blackbox.yml", "--web.listen-address=" + loopback(ports.Blackbox));
    // The read-only ACL user; the password through the environment, not the command line.
    builder.AddExecutable("redis-exporter", "prometheus-redis-exporter", dataDir,
            "-redis.addr", "redis://" + loopback(ports.Redis), "-web.listen-address", loopback(ports.RedisExporter))
        .WithEnvironment("REDIS_USER", "shortener-exporter")
        .WithEnvironment("REDIS_PASSWORD", File.ReadAllText(redisExporterPasswordFile));
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

// Per user a random password file and, from deploy/compose/redis/users.acl, the ACL file redis-server
// loads ({{user}} -> #SHA-256 of its password, as deploy/compose/init-secrets.sh renders it).
static Dictionary<string, string> EnsureRedisUsers(string template, string dir)
{
    Directory.CreateDirectory(dir);
    if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    var acl = File.ReadAllText(template);
    var files = new Dictionary<string, string>();
    foreach (var user in new[] { "shortener-api", "shortener-worker", "shortener-exporter" })
    {
        var file = Path.Combine(dir, user + ".password");
        if (!File.Exists(file)) File.WriteAllText(file, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)));
        acl = acl.Replace("{{" + user + "}}", "#" + Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), StringComparison.Ordinal);
        files[user] = file;
    }
    File.WriteAllText(Path.Combine(dir, "users.acl"), acl);
    return files;
}

static async Task<HealthCheckResult> PostgresReadyAsync(string connectionString, CancellationToken ct)
{
    try
    {
        var app = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 2 };
        await using var connection = new NpgsqlConnection(app.ConnectionString);
        await connection.OpenAsync(ct);
        return HealthCheckResult.Healthy();
    }
    catch (Exception ex) when (ex is NpgsqlException or SocketException or TimeoutException)
    {
        return HealthCheckResult.Unhealthy(ex.Message);
    }
}

static async Task<HealthCheckResult> RedisReadyAsync(int port, string exporterPassword, CancellationToken ct)
{
    try
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, ct);
        var stream = client.GetStream();
        // The default user is off: log in as the read-only exporter user first.
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"AUTH shortener-exporter {exporterPassword}\r\nPING\r\n"), ct);
        var buffer = new byte[32];
        var reply = "";
        while (!reply.Contains("\r\n+PONG", StringComparison.Ordinal) && !reply.Contains('-', StringComparison.Ordinal) && reply.Length < 64)
        {
            var read = await stream.ReadAsync(buffer, ct);
            if (read == 0) break;
            reply += System.Text.Encoding.ASCII.GetString(buffer, 0, read);
        }
        return reply.StartsWith("+OK\r\n+PONG", StringComparison.Ordinal)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("unexpected PING reply");
    }
    catch (Exception ex) when (ex is SocketException or IOException)
    {
        return HealthCheckResult.Unhealthy(ex.Message);
    }
}
