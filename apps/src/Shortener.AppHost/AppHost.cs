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
    .WithEnvironment("Shutdown__DrainDelay", "00:00:01")
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

builder.Build().Run();

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
