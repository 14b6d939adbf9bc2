extern alias migrations;
extern alias worker;

using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using migrations::Shortener.Migrations;
using Npgsql;
using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Security;

/// <summary>
/// The roles and ACL users the deployments use (deploy/compose/postgres/initdb/20-roles.sql,
/// deploy/compose/redis/users.acl), on real servers: the migrator works as the owner, the
/// application role has DML and nothing else, and each Redis user can run exactly what its service
/// runs (the new EVAL/EVALSHA and PUBLISH/SUBSCRIBE included) while FLUSHALL and CONFIG are refused.
/// </summary>
public sealed class LeastPrivilegeTests
{
    private static readonly string s_repo = ServiceProcess.RepoRoot();

    private static async Task<(PostgresServer Server, string Database)> DatabaseWithRolesAsync()
    {
        var server = await SharedPostgres.ServerAsync();
        var database = $"lp_{Guid.NewGuid():N}"[..20];
        await using (var admin = new NpgsqlConnection(server.ConnectionString("postgres") + ";Pooling=false"))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        var roles = await File.ReadAllTextAsync(Path.Combine(s_repo, "deploy/compose/postgres/initdb/20-roles.sql"));
        await using (var superuser = new NpgsqlConnection(server.ConnectionString(database) + ";Pooling=false"))
        {
            await superuser.OpenAsync();
            // Twice: make run applies it on every start.
            for (var i = 0; i < 2; i++)
            {
                await using var apply = new NpgsqlCommand(roles, superuser);
                await apply.ExecuteNonQueryAsync();
            }
            await using var outside = new NpgsqlCommand("CREATE SCHEMA private; CREATE TABLE private.secrets (value text); INSERT INTO private.secrets VALUES ('x')", superuser);
            await outside.ExecuteNonQueryAsync();
        }
        return (server, database);
    }

    private static string As(PostgresServer server, string database, string role) =>
        new NpgsqlConnectionStringBuilder(server.ConnectionString(database)) { Username = role, Pooling = false }.ConnectionString;

    private static async Task<PostgresException> RefusedAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task TheOwnerMigratesAndTheApplicationRoleHasDmlOnly()
    {
        var (server, database) = await DatabaseWithRolesAsync();
        await using (var ownerSource = NpgsqlDataSource.Create(As(server, database, "shortener_owner")))
        {
            var migrator = new Migrator(ownerSource, Microsoft.Extensions.Options.Options.Create(new MigrationOptions()), NullLogger<Migrator>.Instance);
            Assert.Equal(0, await migrator.RunAsync(CancellationToken.None));
            await using var owner = await ownerSource.OpenConnectionAsync();
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await RefusedAsync(owner, "CREATE ROLE evil")).SqlState);
        }

        await using var app = new NpgsqlConnection(As(server, database, "shortener_app"));
        await app.OpenAsync();
        await using (var dml = new NpgsqlCommand(
            "INSERT INTO links (code, target_url, owner) VALUES ('lp-check', 'https://example.org/', 'lp'); " +
            "UPDATE links SET permanent = true WHERE code = 'lp-check'; SELECT count(*) FROM links; DELETE FROM links WHERE code = 'lp-check'", app))
        {
            await dml.ExecuteNonQueryAsync();
        }
        // The worker's counting statement as it runs (ledger, daily counts, counts by source: migration 0004's table has
        // its grants through the owner's default privileges), and the stats read of the API.
        await using (var appSource = NpgsqlDataSource.Create(As(server, database, "shortener_app")))
        {
            var day = DateOnly.FromDateTime(DateTime.UtcNow);
            var batch = new ClickBatch(Guid.CreateVersion7(), [(new ClickKey("lp-check", day, "news.example.org", "chrome"), 3), (new ClickKey("lp-check", day, null, "none"), 1)], []);
            Assert.Equal(4, await new ClickLedger(appSource).AggregateAsync([batch], CancellationToken.None));
            Assert.Equal(0, await new ClickLedger(appSource).AggregateAsync([batch], CancellationToken.None));
            await using var read = appSource.CreateCommand("SELECT sum(clicks) FROM link_clicks_by_source WHERE code = 'lp-check'");
            Assert.Equal(4m, await read.ExecuteScalarAsync());
        }
        await using (var super = new NpgsqlCommand("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user", app))
        {
            Assert.Equal(false, await super.ExecuteScalarAsync());
        }

        foreach (var sql in new[]
        {
            "DROP TABLE links", "TRUNCATE links", "TRUNCATE link_clicks_by_source", "ALTER TABLE links ADD COLUMN evil int", "CREATE TABLE evil (x int)",
            "CREATE ROLE evil", "SELECT * FROM private.secrets", "SELECT * FROM pg_authid",
        })
        {
            var refused = await RefusedAsync(app, sql);
            Assert.True(refused.SqlState == PostgresErrorCodes.InsufficientPrivilege, $"{sql}: {refused.SqlState} {refused.MessageText}");
        }
    }

    // ---- Redis -------------------------------------------------------------------------------

    private sealed class AclRedis : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _dir;

        private AclRedis(Process process, string dir, int port)
        {
            _process = process;
            _dir = dir;
            Port = port;
        }

        public int Port { get; }
        public static Dictionary<string, string> Passwords { get; } = new()
        {
            ["shortener-api"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            ["shortener-worker"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            ["shortener-exporter"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
        };

        public static async Task<AclRedis> StartAsync()
        {
            var dir = Path.Combine(Path.GetTempPath(), "shortener-tests", $"redis-acl-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            // The same rendering as deploy/compose/init-secrets.sh: {{user}} -> #<sha256 of its password>.
            var acl = await File.ReadAllTextAsync(Path.Combine(s_repo, "deploy/compose/redis/users.acl"));
            foreach (var (user, password) in Passwords)
            {
                acl = acl.Replace("{{" + user + "}}", "#" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(password))), StringComparison.Ordinal);
            }
            var aclFile = Path.Combine(dir, "users.acl");
            await File.WriteAllTextAsync(aclFile, acl);
            var port = TestPorts.Next();
            Process process;
            try
            {
                process = LocalProcess.Start("redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--aclfile", aclFile]);
            }
            catch (System.ComponentModel.Win32Exception)
            {
                throw new InvalidOperationException("redis-server is not installed. Install it with: sudo apt-get install -y redis-server");
            }
            var server = new AclRedis(process, dir, port);
            await LocalProcess.WaitUntilAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException("redis-server exited (is the ACL file valid?): " + await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync());
                await using var connection = await server.ConnectAsync("shortener-exporter");
                await connection.GetDatabase().PingAsync();
                return true;
            }, TimeSpan.FromSeconds(20), "Redis with the ACL to answer PING");
            return server;
        }

        /// <summary>Connects like Shortener.ServiceDefaults (User + password, no connect abort).</summary>
        public async Task<ConnectionMultiplexer> ConnectAsync(string user)
        {
            var options = ConfigurationOptions.Parse($"127.0.0.1:{Port},connectTimeout=1000");
            options.User = user;
            options.Password = Passwords[user];
            // Let FLUSHALL/CONFIG reach the server: the ACL must refuse them, not the client library.
            options.AllowAdmin = true;
            return await ConnectionMultiplexer.ConnectAsync(options);
        }

        public async ValueTask DisposeAsync()
        {
            LocalProcess.Signal(_process, LocalProcess.SigKill);
            await _process.WaitForExitAsync();
            _process.Dispose();
            try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task AssertNoPermAsync(IDatabase database, string command, params object[] args)
    {
        var refused = await Assert.ThrowsAsync<RedisServerException>(() => database.ExecuteAsync(command, args));
        Assert.StartsWith("NOPERM", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachRedisUserRunsItsServicesCommandsAndNothingDangerous()
    {
        await using var redis = await AclRedis.StartAsync();

        await using (var api = await redis.ConnectAsync("shortener-api"))
        {
            var db = api.GetDatabase();
            const string setIfNewer = "local current = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return current";
            // First EVAL, then EVALSHA from StackExchange.Redis' script cache: both must pass the ACL.
            await db.ScriptEvaluateAsync(setIfNewer, ["link:abc"], ["v1|https://example.org/"]);
            Assert.Equal("v1|https://example.org/", (string?)await db.ScriptEvaluateAsync(setIfNewer, ["link:abc"], ["v2|https://example.org/"]));
            var received = new TaskCompletionSource<string>();
            await api.GetSubscriber().SubscribeAsync(RedisChannel.Literal("links:invalidated"), (_, message) => received.TrySetResult(message!));
            await db.PublishAsync(RedisChannel.Literal("links:invalidated"), "2|abc");
            Assert.Equal("2|abc", await received.Task.WaitAsync(TimeSpan.FromSeconds(5)));
            await db.StreamAddAsync("clicks", [new NameValueEntry("code", "abc")]);
            await db.StringSetAsync("faults:active", "{}", TimeSpan.FromMinutes(1));
            await db.KeyDeleteAsync("faults:active");

            await AssertNoPermAsync(db, "FLUSHALL");
            await AssertNoPermAsync(db, "CONFIG", "GET", "maxmemory");
            await AssertNoPermAsync(db, "KEYS", "*");
            await AssertNoPermAsync(db, "SET", "someone-else", "x");
        }

        await using (var worker = await redis.ConnectAsync("shortener-worker"))
        {
            var db = worker.GetDatabase();
            await db.StreamCreateConsumerGroupAsync("clicks", "aggregator", "0");
            var entries = await db.StreamReadGroupAsync("clicks", "aggregator", "worker-1", ">", 10);
            Assert.Single(entries);
            var transaction = db.CreateTransaction();
            _ = transaction.StreamAddAsync("clicks:dead", [new NameValueEntry("dead.reason", "test")]);
            _ = transaction.StreamAcknowledgeAsync("clicks", "aggregator", entries[0].Id);
            Assert.True(await transaction.ExecuteAsync());
            Assert.Equal(1, await db.StreamLengthAsync("clicks"));
            await db.StreamTrimByMinIdAsync("clicks", "0-1", useApproximateMaxLength: true);

            await AssertNoPermAsync(db, "FLUSHALL");
            await AssertNoPermAsync(db, "CONFIG", "GET", "maxmemory");
            await AssertNoPermAsync(db, "GET", "link:abc");
        }

        await using (var exporter = await redis.ConnectAsync("shortener-exporter"))
        {
            var db = exporter.GetDatabase();
            Assert.Contains("redis_version", (string?)await db.ExecuteAsync("INFO", "server"));
            Assert.Equal(1, (long)await db.ExecuteAsync("XLEN", "clicks"));
            await AssertNoPermAsync(db, "SET", "link:abc", "x");
            await AssertNoPermAsync(db, "FLUSHALL");
        }
    }
}
