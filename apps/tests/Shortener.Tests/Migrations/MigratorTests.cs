extern alias migrations;

using Microsoft.Extensions.Logging.Abstractions;
using migrations::Shortener.Migrations;
using Npgsql;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Migrations;

public sealed class MigratorTests
{
    private static Migrator MigratorFor(NpgsqlDataSource dataSource, bool createDatabase = false) =>
        new(dataSource, Microsoft.Extensions.Options.Options.Create(new MigrationOptions { CreateDatabase = createDatabase }), NullLogger<Migrator>.Instance);

    private static async Task<string> EmptyDatabaseAsync()
    {
        var server = await SharedPostgres.ServerAsync();
        var name = $"mig_{Guid.NewGuid():N}"[..20];
        return server.ConnectionString(name);
    }

    [Fact]
    public async Task TheMigratorCreatesTheDatabaseAppliesEverythingAndIsIdempotent()
    {
        var connectionString = await EmptyDatabaseAsync();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);

        Assert.Equal(0, await MigratorFor(dataSource, createDatabase: true).RunAsync(CancellationToken.None));
        Assert.Equal(0, await MigratorFor(dataSource).ApplyAsync(CancellationToken.None));

        await using var command = dataSource.CreateCommand("SELECT count(*) FROM schema_migrations");
        Assert.Equal((long)Migrator.EmbeddedMigrations().Count, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task ConcurrentMigratorsSerialiseOnTheAdvisoryLock()
    {
        var connectionString = await EmptyDatabaseAsync();
        await using (var first = NpgsqlDataSource.Create(connectionString))
        {
            Assert.Equal(0, await MigratorFor(first, createDatabase: true).RunAsync(CancellationToken.None));
        }
        // Start from an empty schema again, then race six migrators.
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var reset = dataSource.CreateCommand("DROP SCHEMA public CASCADE; CREATE SCHEMA public;"))
        {
            await reset.ExecuteNonQueryAsync();
        }
        var applied = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => MigratorFor(dataSource).ApplyAsync(CancellationToken.None))));

        Assert.Equal(Migrator.EmbeddedMigrations().Count, applied.Sum());
        Assert.Equal(1, applied.Count(n => n > 0));
    }

    [Fact]
    public async Task AnAppliedMigrationThatWasEditedIsRefused()
    {
        var connectionString = await SharedPostgres.CreateDatabaseAsync("edited");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var tamper = dataSource.CreateCommand("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1"))
        {
            await tamper.ExecuteNonQueryAsync();
        }
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => MigratorFor(dataSource).ApplyAsync(CancellationToken.None));
        Assert.Contains("changed after it was applied", error.Message);
    }

    [Fact]
    public async Task TheRedirectLookupIsAnIndexOnlyScan()
    {
        var connectionString = await SharedPostgres.CreateDatabaseAsync("plan");
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var seed = dataSource.CreateCommand(
            "INSERT INTO links (code, target_url) SELECT 'code' || g, 'https://example.com/' || g FROM generate_series(1, 20000) g"))
        {
            await seed.ExecuteNonQueryAsync();
        }
        // VACUUM sets the visibility map that makes the scan index-only.
        await using (var vacuum = dataSource.CreateCommand("VACUUM ANALYZE links"))
        {
            await vacuum.ExecuteNonQueryAsync();
        }
        await using var explain = dataSource.CreateCommand(
            "EXPLAIN SELECT target_url, permanent, expires_at, deleted_at IS NOT NULL FROM links WHERE code = 'code123'");
        var plan = string.Join('\n', await ReadAllAsync(explain));
        Assert.Contains("Index Only Scan using links_code", plan);
    }

    private static async Task<List<string>> ReadAllAsync(NpgsqlCommand command)
    {
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
        return lines;
    }
}
