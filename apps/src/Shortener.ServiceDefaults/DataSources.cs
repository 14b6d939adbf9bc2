using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;
using StackExchange.Redis;

namespace Shortener.ServiceDefaults;

public static class DataSources
{
    public const string PostgresConnectionName = "postgres";
    public const string RedisConnectionName = "redis";

    /// <summary>
    /// One pooled NpgsqlDataSource per process, named so pool metrics carry "shortener" instead of the connection string.
    /// Npgsql waits 15 s for a connection (connect or a free pooled one) and 30 s for a command by default; a request
    /// must fail fast instead (503 + Retry-After), so both get short defaults unless the connection string sets them;
    /// so does automatic statement preparation, which Npgsql leaves off.
    /// </summary>
    public static IHostApplicationBuilder AddPostgres(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(PostgresConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{PostgresConnectionName} is not set.");
        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString) { Name = "shortener" };
            // Keys lists the settings the string sets, under their canonical names (aliases such as CommandTimeout
            // included); ContainsKey would not do: it is true for every keyword Npgsql knows, set or not.
            var set = new NpgsqlConnectionStringBuilder(connectionString).Keys.Cast<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
            if (!set.Contains("Timeout")) dataSource.ConnectionStringBuilder.Timeout = 3;
            if (!set.Contains("Command Timeout")) dataSource.ConnectionStringBuilder.CommandTimeout = 5;
            // Statements run often (the redirect lookup, the key lookup, the click upserts) are prepared on each
            // connection after 5 uses, so PostgreSQL stops parsing and planning them per call: a third less
            // PostgreSQL CPU per cold redirect and 20-60 % more of them on 2 cores (ADR 0011).
            if (!set.Contains("Max Auto Prepare")) dataSource.ConnectionStringBuilder.MaxAutoPrepare = 20;
            return dataSource.Build();
        });
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgresql", tags: [HealthTags.Ready]);
        return builder;
    }

    /// <summary>
    /// StackExchange.Redis with fail-fast behaviour: when Redis is down commands fail at once instead of
    /// queueing, so the redirect path can fall back to PostgreSQL without waiting.
    /// </summary>
    /// <param name="failureStatus">
    /// What an unreachable Redis means for readiness: Unhealthy for the worker (it cannot work without it),
    /// Degraded for the API (redirects carry on from PostgreSQL, so the instance must stay in the load balancer).
    /// </param>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder, HealthStatus failureStatus = HealthStatus.Unhealthy)
    {
        var connectionString = builder.Configuration.GetConnectionString(RedisConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{RedisConnectionName} is not set.");
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        if (!connectionString.Contains("connectTimeout", StringComparison.OrdinalIgnoreCase)) options.ConnectTimeout = 2000;
        if (!connectionString.Contains("syncTimeout", StringComparison.OrdinalIgnoreCase)) options.SyncTimeout = 1000;
        if (!connectionString.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase)) options.AsyncTimeout = 1000;
        options.ClientName ??= builder.Environment.ApplicationName;
        // An ACL user of its own (deploy/compose/redis/users.acl) and its password from a mounted secret
        // (compose secrets, Kubernetes), never from the connection string in config.
        if (builder.Configuration["Redis:User"] is { Length: > 0 } user) options.User = user;
        if (builder.Configuration["Redis:PasswordFile"] is { Length: > 0 } passwordFile)
        {
            options.Password = File.ReadAllText(passwordFile).Trim();
        }

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(options));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", failureStatus, tags: [HealthTags.Ready]);
        return builder;
    }
}

public static class HealthTags
{
    /// <summary>Checks that decide whether this instance should receive traffic (/readyz).</summary>
    public const string Ready = "ready";
}

internal sealed class PostgresHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await using var command = dataSource.CreateCommand("SELECT 1");
            command.CommandTimeout = 2;
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy($"SELECT 1 in {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL unreachable: {ex.GetType().Name}");
        }
    }
}

internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy($"PING in {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"Redis unreachable: {ex.GetType().Name}");
        }
    }
}
