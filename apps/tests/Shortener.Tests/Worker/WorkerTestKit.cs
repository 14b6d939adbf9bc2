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
