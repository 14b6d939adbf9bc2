extern alias worker;

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Worker;

/// <summary>A database and a Redis of the test's own, with helpers to produce clicks and read the counts back.</summary>
public sealed class WorkerTestKit : IAsyncDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    private WorkerTestKit(string postgres, RedisServer redis, ConnectionMultiplexer connection, NpgsqlDataSource dataSource)
    {
        Postgres = postgres;
        Redis = redis;
        Connection = connection;
        DataSource = dataSource;
    }

    public string Postgres { get; }
    public RedisServer Redis { get; }
    public ConnectionMultiplexer Connection { get; }
    public IDatabase Db => Connection.GetDatabase();
    public NpgsqlDataSource DataSource { get; }

    public static async Task<WorkerTestKit> CreateAsync(string name, PostgresServer? server = null)
    {
        var postgres = server is null ? await SharedPostgres.CreateDatabaseAsync(name) : await server.CreateDatabaseAsync(name);
        var redis = await RedisServer.StartAsync();
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",abortConnect=false");
        return new WorkerTestKit(postgres, redis, connection, NpgsqlDataSource.Create(postgres));
    }

    public static ClickEvent Click(string code, DateTimeOffset? at = null) =>
        new(Guid.CreateVersion7(), code, at ?? DateTimeOffset.UtcNow, "example.org", "firefox", null);

    public async Task<List<ClickEvent>> ProduceAsync(string code, int count, DateTimeOffset? at = null)
    {
        var clicks = Enumerable.Range(0, count).Select(_ => Click(code, at)).ToList();
        foreach (var chunk in clicks.Chunk(1000))
        {
            var batch = Db.CreateBatch();
            var writes = chunk.Select(c => batch.StreamAddAsync(ClickStream.Key, c.ToStreamFields())).ToArray();
            batch.Execute();
            await Task.WhenAll(writes);
        }
        return clicks;
    }

    /// <summary>The meter factory of this kit's instruments: a <see cref="System.Diagnostics.Metrics.MeterListener"/> tells them from other tests' by it.</summary>
    public System.Diagnostics.Metrics.IMeterFactory MeterFactory => _services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();

    public ClickAggregator Aggregator(AggregatorOptions options, StreamLagMonitor? lag = null) =>
        new(Connection, new ClickLedger(DataSource), Microsoft.Extensions.Options.Options.Create(options),
            new WorkerMetrics(MeterFactory, lag ?? LagMonitor()), NullLogger<ClickAggregator>.Instance);

    public static AggregatorOptions FastOptions(string consumer = "test") => new()
    {
        ConsumerName = consumer,
        BatchSize = 200,
        PollInterval = TimeSpan.FromMilliseconds(20),
        ClaimMinIdle = TimeSpan.FromMilliseconds(300),
        MaintenanceInterval = TimeSpan.FromMilliseconds(100),
        RetryDelay = TimeSpan.FromMilliseconds(100),
        MaxDeliveries = 3,
    };

    public async Task<long> TotalClicksAsync(string code)
    {
        await using var command = DataSource.CreateCommand("SELECT coalesce(sum(clicks), 0)::bigint FROM link_clicks_daily WHERE code = @code");
        command.Parameters.AddWithValue("code", code);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The breakdown invariant: for every (code, day), link_clicks_by_source sums to link_clicks_daily (both are written by
    /// one statement from the same fresh batches). Returns the number of (code, day) rows compared; fails on any mismatch.
    /// </summary>
    public async Task<long> AssertBreakdownMatchesDailyAsync()
    {
        await using var command = DataSource.CreateCommand("""
            WITH by_source AS (
                SELECT code, day, sum(clicks)::bigint AS clicks FROM link_clicks_by_source GROUP BY code, day
            )
            SELECT coalesce(d.code, s.code), coalesce(d.day, s.day), d.clicks, s.clicks
            FROM link_clicks_daily d FULL JOIN by_source s ON s.code = d.code AND s.day = d.day
            ORDER BY 1, 2
            """);
        var mismatches = new List<string>();
        long rows = 0;
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows++;
                long? daily = reader.IsDBNull(2) ? null : reader.GetInt64(2), bySource = reader.IsDBNull(3) ? null : reader.GetInt64(3);
                if (daily != bySource) mismatches.Add($"{reader.GetString(0)} {reader.GetFieldValue<DateOnly>(1)}: daily {daily}, by source {bySource}");
            }
        }
        Assert.True(mismatches.Count == 0, "link_clicks_by_source does not sum to link_clicks_daily:\n" + string.Join("\n", mismatches));
        return rows;
    }

    /// <summary>Clicks per (referrer host, browser) of a code on a day, as stored ('' is no referrer).</summary>
    public async Task<Dictionary<(string Referrer, string Browser), long>> BySourceAsync(string code, DateOnly day)
    {
        await using var command = DataSource.CreateCommand(
            "SELECT referrer_host, browser, clicks FROM link_clicks_by_source WHERE code = @code AND day = @day");
        command.Parameters.AddWithValue("code", code);
        command.Parameters.AddWithValue("day", day);
        var result = new Dictionary<(string, string), long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) result[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
        return result;
    }

    public StreamLagMonitor LagMonitor(AggregatorOptions? options = null) =>
        new(Connection, Microsoft.Extensions.Options.Options.Create(options ?? new AggregatorOptions()));

    public Task<StreamLag> LagAsync() => LagMonitor().ReadAsync();

    /// <summary>Pre-aggregated batches as the API writes them: <paramref name="batches"/> entries of <paramref name="clicksPerBatch"/> clicks.</summary>
    public async Task<List<ClickBatch>> ProduceBatchesAsync(string code, int batches, long clicksPerBatch, DateTimeOffset? at = null)
    {
        var day = DateOnly.FromDateTime((at ?? DateTimeOffset.UtcNow).UtcDateTime);
        var produced = Enumerable.Range(0, batches)
            .Select(_ => new ClickBatch(Guid.CreateVersion7(), [(new ClickKey(code, day, "example.org", "firefox"), clicksPerBatch)], []))
            .ToList();
        foreach (var batch in produced) await Db.StreamAddAsync(ClickStream.Key, batch.ToStreamFields());
        return produced;
    }

    public async Task<long> LedgerRowsAsync()
    {
        await using var command = DataSource.CreateCommand("SELECT count(*) FROM processed_click_batches");
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Waits until every entry has been acknowledged (or dead-lettered) and nothing is undelivered.</summary>
    public Task WaitForDrainAsync(TimeSpan timeout) => LocalProcess.WaitUntilAsync(async () =>
    {
        var lag = await LagAsync();
        return lag.Pending == 0 && lag.Undelivered == 0;
    }, timeout, "the click stream to drain");

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        await Connection.DisposeAsync();
        await Redis.DisposeAsync();
        await _services.DisposeAsync();
    }
}
