using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

var builder = DistributedApplication.CreateBuilder(args);

var local = builder.Configuration.GetSection("Local");
var repoRoot = FindRepoRoot(builder.AppHostDirectory);
var dataDir = Path.GetFullPath(local["DataDir"] ?? Path.Combine(repoRoot, ".data"));
var postgresPort = local.GetValue("PostgresPort", 55432);
var redisPort = local.GetValue("RedisPort", 56379);
Directory.CreateDirectory(Path.Combine(dataDir, "redis"));

var postgresConnection = $"Host=127.0.0.1;Port={postgresPort};Username=postgres;Database=shortener;Timeout=5;Command Timeout=10";
var redisConnection = $"127.0.0.1:{redisPort}";
var bootstrapKeyFile = EnsureBootstrapKey(Path.Combine(dataDir, "bootstrap-api-key"));

// No container runtime needed: PostgreSQL and Redis are local processes with their data under .data/.
builder.Services.AddHealthChecks()
    .AddAsyncCheck("postgres-accepts-queries", ct => PostgresReadyAsync(postgresConnection, ct))
    .AddAsyncCheck("redis-answers-ping", ct => RedisReadyAsync(redisPort, ct));

var postgres = builder.AddExecutable("postgres", "bash", repoRoot,
        "scripts/postgres.sh", Path.Combine(dataDir, "postgres"), postgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture))
    // WAL archived into a local pgBackRest repository; `make backup` / `make restore` use the same config.
    .WithEnvironment("PGBACKREST_CONFIG", Path.Combine(dataDir, "pgbackrest", "pgbackrest.conf"))
    .WithHealthCheck("postgres-accepts-queries");

var redis = builder.AddExecutable("redis", "redis-server", Path.Combine(dataDir, "redis"),
        "--port", redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
        // AOF: the click stream lives in Redis and must survive a restart.
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--dir", Path.Combine(dataDir, "redis"))
    .WithHealthCheck("redis-answers-ping");

var migrator = builder.AddProject<Projects.Shortener_Migrations>("migrator")
    .WithEnvironment("ConnectionStrings__postgres", postgresConnection)
    .WaitFor(postgres);

builder.AddProject<Projects.Shortener_Api>("api", launchProfileName: null)
    .WithHttpEndpoint(port: local.GetValue("ApiPort", 8080), isProxied: false)
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
    .WithHttpEndpoint(port: local.GetValue("WorkerPort", 8081), isProxied: false)
    .WithHttpHealthCheck("/readyz")
    .WithEnvironment("ConnectionStrings__postgres", postgresConnection)
    .WithEnvironment("ConnectionStrings__redis", redisConnection)
    .WithEnvironment("Shutdown__DrainDelay", "00:00:00")
    .WaitFor(redis)
    .WaitForCompletion(migrator);

if (local.GetValue("Observability", true))
{
    AddLocalObservability(builder, repoRoot, dataDir, postgresPort, redisPort);
}

builder.Build().Run();

// Prometheus, Alertmanager and the exporters from Debian's packages, as local processes reading the
// same observability/ files as Docker Compose; only the targets directory differs (local, on loopback).
static void AddLocalObservability(IDistributedApplicationBuilder builder, string repoRoot, string dataDir, int postgresPort, int redisPort)
{
    var observability = Path.Combine(repoRoot, "observability");
    var prometheusDir = Path.Combine(dataDir, "prometheus");
    Directory.CreateDirectory(prometheusDir);
    Link(Path.Combine(prometheusDir, "prometheus.yml"), Path.Combine(observability, "prometheus", "prometheus.yml"));
    Link(Path.Combine(prometheusDir, "rules"), Path.Combine(observability, "prometheus", "rules"));
    Link(Path.Combine(prometheusDir, "targets"), Path.Combine(observability, "prometheus", "targets", "local"));

    var alertmanagerDir = Path.Combine(dataDir, "alertmanager");
    Directory.CreateDirectory(alertmanagerDir);
    RenderLocalAlertmanagerConfig(Path.Combine(observability, "alertmanager", "render-local.sh"), Path.Combine(alertmanagerDir, "alertmanager.yml"));

    builder.AddExecutable("prometheus", "prometheus", prometheusDir,
        "--config.file=" + Path.Combine(prometheusDir, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(prometheusDir, "data"),
        "--storage.tsdb.retention.time=31d", "--web.listen-address=127.0.0.1:9090", "--web.enable-lifecycle");
    builder.AddExecutable("alertmanager", "prometheus-alertmanager", alertmanagerDir,
        "--config.file=" + Path.Combine(alertmanagerDir, "alertmanager.yml"), "--storage.path=" + Path.Combine(alertmanagerDir, "data"),
        "--web.listen-address=127.0.0.1:9093", "--cluster.listen-address=", "--web.external-url=http://127.0.0.1:9093");
    // The textfile collector serves the backup metrics `make backup` writes (pgbackrest_*, postgres_wal_*).
    Directory.CreateDirectory(Path.Combine(dataDir, "pgbackrest", "metrics"));
    builder.AddExecutable("node-exporter", "prometheus-node-exporter", dataDir, "--web.listen-address=127.0.0.1:9100",
        "--collector.textfile.directory=" + Path.Combine(dataDir, "pgbackrest", "metrics"));
    builder.AddExecutable("blackbox-exporter", "prometheus-blackbox-exporter", dataDir,
        "--config.file=/etc/prometheus/blackbox.yml", "--web.listen-address=127.0.0.1:9115");
    builder.AddExecutable("redis-exporter", "prometheus-redis-exporter", dataDir,
"-redis.addr", "redis://127.0.0.1:" + redisPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-web.listen-address", "127.0.0.1:9121");
    builder.AddExecutable("postgres-exporter", "prometheus-postgres-exporter", dataDir, "--web.listen-address=127.0.0.1:9187")
        .WithEnvironment("DATA_SOURCE_NAME", "postgresql://postgres@127.0.0.1:" + postgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture) + "/shortener?sslmode=disable");
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
