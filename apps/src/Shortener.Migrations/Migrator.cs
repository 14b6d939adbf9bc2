using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Shortener.Migrations;

public sealed class MigrationOptions
{
    public const string Section = "Migrations";

    /// <summary>Create the target database when it does not exist (local runs); off where a DBA owns the database.</summary>
    public bool CreateDatabase { get; set; }
}

/// <summary>
/// Applies the embedded Sql/NNNN_name.sql scripts in order, each in its own transaction, under a
/// PostgreSQL advisory lock so concurrent migrators (several pods, a compose restart) serialise.
/// Applied scripts are recorded with a checksum; an edited applied script is refused.
/// </summary>
public sealed partial class Migrator(NpgsqlDataSource dataSource, IOptions<MigrationOptions> options, ILogger<Migrator> logger)
{
    // Any constant works; it only has to be the same in every migrator ("shortnr" in ASCII).
    private const long AdvisoryLockKey = 0x73686f72746e72;
    private static readonly ActivitySource s_activity = new("Shortener.Migrations");

    public static IReadOnlyList<Migration> EmbeddedMigrations()
    {
        var assembly = typeof(Migrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith("Sql/", StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name => Migration.Load(assembly, name))
            .OrderBy(m => m.Version)
            .ToList();
    }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var activity = s_activity.StartActivity("migrate");
        try
        {
            if (options.Value.CreateDatabase) await EnsureDatabaseAsync(cancellationToken);
            var applied = await ApplyAsync(cancellationToken);
            LogDone(logger, applied);
            return 0;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            LogFailed(logger, ex);
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            return 1;
        }
    }

    public async Task<int> ApplyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenWithRetryAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_lock(@key)", connection))
        {
            lockCommand.Parameters.AddWithValue("key", AdvisoryLockKey);
            lockCommand.CommandTimeout = 0;
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            return await ApplyLockedAsync(connection, cancellationToken);
        }
        finally
        {
            // Explicitly: a pooled connection keeps its session (and a session lock) after Close.
            await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock(@key)", connection);
            unlock.Parameters.AddWithValue("key", AdvisoryLockKey);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    private async Task<int> ApplyLockedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {

        await using (var create = new NpgsqlCommand("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, connection))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new Dictionary<int, string>();
        await using (var read = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", connection))
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken)) applied[reader.GetInt32(0)] = reader.GetString(1);
        }

        var known = EmbeddedMigrations();
        if (applied.Keys.Where(version => known.All(m => m.Version != version)).Order().FirstOrDefault() is > 0 and var unknown)
        {
            throw new InvalidOperationException(
                $"The database has migration {unknown}, which this build does not know: a newer version of the service created it. "
                + "Run the newer migrator, or start from an empty database.");
        }

        var count = 0;
        foreach (var migration in known)
        {
            if (applied.TryGetValue(migration.Version, out var checksum))
            {
                if (checksum != migration.Checksum)
                {
                    throw new InvalidOperationException(
                        $"Migration {migration.Version} ({migration.Name}) was changed after it was applied; add a new migration instead.");
                }
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var apply = new NpgsqlCommand(migration.Sql, connection, transaction) { CommandTimeout = 0 })
            {
                await apply.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var record = new NpgsqlCommand(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (@v, @n, @c)", connection, transaction))
            {
                record.Parameters.AddWithValue("v", migration.Version);
                record.Parameters.AddWithValue("n", migration.Name);
                record.Parameters.AddWithValue("c", migration.Checksum);
                await record.ExecuteNonQueryAsync(cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            LogApplied(logger, migration.Version, migration.Name, elapsedMs);
            count++;
        }
        return count;
    }

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var database = target.Database ?? "postgres";
        var admin = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null) return;

        var quoted = "\"" + database.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
            LogCreatedDatabase(logger, database);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Another migrator created it first.
        }
    }

    /// <summary>The migrator often starts together with PostgreSQL; give it a few seconds to accept connections.</summary>
    private async Task<NpgsqlConnection> OpenWithRetryAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await dataSource.OpenConnectionAsync(cancellationToken);
            }
            catch (NpgsqlException ex) when (attempt < 30 && ex.IsTransient)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = 1, EventName = "MigrationApplied", Level = LogLevel.Information, Message = "Applied migration {Version} {Name} in {ElapsedMs:F0} ms")]
    private static partial void LogApplied(ILogger logger, int version, string name, double elapsedMs);

    [LoggerMessage(EventId = 2, EventName = "MigrationsDone", Level = LogLevel.Information, Message = "Database schema is up to date ({Applied} migrations applied now)")]
    private static partial void LogDone(ILogger logger, int applied);

    [LoggerMessage(EventId = 3, EventName = "MigrationFailed", Level = LogLevel.Error, Message = "Migration failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "DatabaseCreated", Level = LogLevel.Information, Message = "Created database {Database}")]
    private static partial void LogCreatedDatabase(ILogger logger, string database);
}

public sealed record Migration(int Version, string Name, string Sql, string Checksum)
{
    public static Migration Load(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
            ?? throw new InvalidOperationException($"Missing resource {resourceName}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var sql = reader.ReadToEnd();
        var fileName = Path.GetFileNameWithoutExtension(resourceName);
        var separator = fileName.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || !int.TryParse(fileName[..separator], System.Globalization.CultureInfo.InvariantCulture, out var version))
        {
            throw new InvalidOperationException($"Migration file {resourceName} must be named NNNN_name.sql");
        }
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));
        return new Migration(version, fileName[(separator + 1)..], sql, checksum);
    }
}
