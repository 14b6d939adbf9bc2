using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Shortener.ServiceDefaults;

namespace Shortener.Tests.Resilience;

/// <summary>
/// The waits every PostgreSQL call of the API and the worker is bounded by. The load tests derive their latency
/// bounds from these; a stopped server refuses connections at once, so only a slow one shows they are missing.
/// </summary>
[Trait("Category", "Resilience")]
public sealed class PostgresTimeoutDefaultsTests
{
    private static NpgsqlConnectionStringBuilder DataSourceSettings(string connectionString)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["ConnectionStrings:postgres"] = connectionString;
        builder.AddPostgres();
        using var services = builder.Services.BuildServiceProvider();
        return new NpgsqlConnectionStringBuilder(services.GetRequiredService<NpgsqlDataSource>().ConnectionString);
    }

    [Fact]
    public void WithoutTimeoutsInTheConnectionStringCallsFailFast()
    {
        var settings = DataSourceSettings("Host=127.0.0.1;Port=5432;Username=postgres;Database=shortener");
        Assert.Equal(3, settings.Timeout);
        Assert.Equal(5, settings.CommandTimeout);
    }

    [Theory]
    [InlineData("Timeout=7;Command Timeout=11")]
    [InlineData("timeout=7;CommandTimeout=11")]
    public void TimeoutsSetInTheConnectionStringWin(string timeouts)
    {
        var settings = DataSourceSettings("Host=127.0.0.1;Port=5432;Username=postgres;Database=shortener;" + timeouts);
        Assert.Equal(7, settings.Timeout);
        Assert.Equal(11, settings.CommandTimeout);
    }
}
