using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Worker;

/// <summary>The worker as a real process, killed with SIGKILL in the middle of its work: no click lost, none counted twice.</summary>
public sealed class WorkerKillTests : IAsyncLifetime
{
    private WorkerTestKit _kit = null!;

    public async Task InitializeAsync() => _kit = await WorkerTestKit.CreateAsync(nameof(WorkerKillTests));

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    private Task<ServiceProcess> StartWorkerAsync() => ServiceProcess.StartAsync("Shortener.Worker", new Dictionary<string, string>
    {
        ["ConnectionStrings__postgres"] = _kit.Postgres,
        ["ConnectionStrings__redis"] = _kit.Redis.ConnectionString,
        ["Aggregator__BatchSize"] = "1000",
        ["Aggregator__ClaimMinIdle"] = "00:00:01",
        ["Aggregator__MaintenanceInterval"] = "00:00:00.200",
        ["Shutdown__DrainDelay"] = "00:00:00",
        ["Telemetry__Enabled"] = "false",
    });

    [Fact]
    public async Task KillingTheWorkerMidBatchRepeatedlyLosesAndDoublesNothing()
    {
        const int perCode = 15_000;
        string[] codes = ["kill-a", "kill-b"];
        foreach (var code in codes) await _kit.ProduceAsync(code, perCode);

        var random = new Random(42);
        var killedWithWorkLeft = 0;
        for (var round = 0; round < 4; round++)
        {
            var worker = await StartWorkerAsync();
            await Task.Delay(random.Next(100, 600));
            worker.Signal(LocalProcess.SigKill);
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(10));
            await worker.DisposeAsync();

            var lag = await _kit.LagAsync();
            if (lag.Pending + lag.Undelivered > 0) killedWithWorkLeft++;
        }
        // The kills must have hit a worker with work in hand, or this test proves nothing.
        Assert.True(killedWithWorkLeft > 0, "every kill came after the stream was drained; produce more clicks");

        await using (await StartWorkerAsync())
        {
            await _kit.WaitForDrainAsync(TimeSpan.FromSeconds(60));
        }

        foreach (var code in codes) Assert.Equal(perCode, await _kit.TotalClicksAsync(code));
        // The breakdown is written by the same statement: the kills neither lost nor doubled any of it either.
        Assert.True(await _kit.AssertBreakdownMatchesDailyAsync() >= codes.Length);
        await using var ledger = _kit.DataSource.CreateCommand("SELECT count(*) FROM processed_click_batches");
        Assert.Equal((long)perCode * codes.Length, await ledger.ExecuteScalarAsync());
    }

    [Fact]
    public async Task APostgresOutageDelaysCountingButLosesNothing()
    {
        // A server of this test's own: stopping the shared one would break the other test classes.
        await using var server = await PostgresServer.StartAsync();
        await using var kit = await WorkerTestKit.CreateAsync("pgoutage", server);
        await kit.ProduceAsync("outage", 2000);

        await using var worker = await ServiceProcess.StartAsync("Shortener.Worker", new Dictionary<string, string>
        {
            ["ConnectionStrings__postgres"] = kit.Postgres,
            ["ConnectionStrings__redis"] = kit.Redis.ConnectionString,
            ["Aggregator__BatchSize"] = "100",
            ["Aggregator__RetryDelay"] = "00:00:00.200",
            ["Shutdown__DrainDelay"] = "00:00:00",
        });
        await server.StopAsync();
        await kit.ProduceAsync("outage", 1000);
        await Task.Delay(1500);
        await server.StartProcessAsync();

        await kit.WaitForDrainAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3000, await kit.TotalClicksAsync("outage"));
    }
}
