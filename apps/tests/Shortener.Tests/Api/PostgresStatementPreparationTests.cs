using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Shortener.ServiceDefaults;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

/// <summary>
/// The API and the worker prepare their frequent statements (Npgsql leaves this off): PostgreSQL then skips parse
/// and plan per call, which the cold-redirect benchmark measured at a third of its CPU per request (ADR 0011).
/// </summary>
public sealed class PostgresStatementPreparationTests
{
    private static async Task<(NpgsqlConnectionStringBuilder Settings, long PreparedAfterRepeats)> PrepareAsync(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:postgres"] = connectionString;
        builder.AddPostgres();
        await using var services = builder.Services.BuildServiceProvider();
        var dataSource = services.GetRequiredService<NpgsqlDataSource>();
        await using var connection = await dataSource.OpenConnectionAsync();
        // The same statement on one connection, as a pooled connection serves the redirect lookup over and over.
        for (var i = 0; i < 6; i++)
        {
            await using var repeated = new NpgsqlCommand("SELECT @n::int + 1", connection);
            repeated.Parameters.AddWithValue("n", i);
            await repeated.ExecuteScalarAsync();
        }
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%$1::int + 1%'", connection);
        return (new NpgsqlConnectionStringBuilder(dataSource.ConnectionString), (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task WithoutASettingRepeatedStatementsArePreparedInPostgres()
    {
        var (settings, prepared) = await PrepareAsync(await SharedPostgres.CreateDatabaseAsync("AutoPrepare"));
        Assert.Equal(20, settings.MaxAutoPrepare);
        Assert.Equal(1, prepared);
    }

    [Fact]
    public async Task MaxAutoPrepareSetInTheConnectionStringWins()
    {
        var (settings, prepared) = await PrepareAsync(await SharedPostgres.CreateDatabaseAsync("AutoPrepareOff") + ";Max Auto Prepare=0");
        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.Equal(0, prepared);
    }
}
