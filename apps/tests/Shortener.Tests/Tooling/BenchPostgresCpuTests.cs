using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Tooling;

/// <summary>
/// `make bench` reports PostgreSQL's CPU per scenario (bench/bench.py, PostgresGroup). Backends that start and exit
/// between its two readings must count: the 20-minute soak, whose connection pools recycle backends, read 3.2 % of a
/// core under the load that read 41.9 % in a 15-second run, because only the processes alive at a reading were summed.
/// </summary>
public sealed class BenchPostgresCpuTests
{
    [Fact]
    public async Task BackendsThatCameAndWentBetweenTwoReadingsAreCounted()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var before = await ReadAsync(postgres.DataDir);

        // Each backend's own CPU time, read from /proc just before its connection closes: what the readings must include
        // (a wall-clock figure would not do: beside other tests a busy backend gets a fraction of a core).
        long backendTicks = 0;
        var backends = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            // A connection of its own each time (no pool): its backend exits before the second reading.
            await using var connection = new NpgsqlConnection(postgres.ConnectionString("postgres") + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid(), count(*) FROM generate_series(1, 3000000)", connection);
            await using (var reader = await command.ExecuteReaderAsync())
            {
                await reader.ReadAsync();
                backends.Add(reader.GetInt32(0));
            }
            backendTicks += OwnTicks(backends[^1]);
        }
        // Gone from /proc means exited and reaped: its time is now the postmaster's cutime/cstime.
        await LocalProcess.WaitUntilAsync(() => Task.FromResult(backends.All(pid => !Directory.Exists($"/proc/{pid}"))),
            TimeSpan.FromSeconds(10), "the backends to exit");

        var after = await ReadAsync(postgres.DataDir);
        Assert.True(backendTicks > 0, "the backends used no measurable CPU: the query is too small to tell anything");
        Assert.True(after.Ticks - before.Ticks >= backendTicks,
            $"PostgresGroup counted {after.Ticks - before.Ticks} clock ticks of CPU; the backends that had exited by the reading used {backendTicks}");
    }

    private static long OwnTicks(int pid)
    {
        var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static async Task<(long Ticks, long TicksPerSecond)> ReadAsync(string dataDir)
    {
        var start = new ProcessStartInfo("python3",
            ["-c", "import os, sys; sys.path.insert(0, 'bench'); import bench; print(bench.PostgresGroup(sys.argv[1]).ticks(), os.sysconf('SC_CLK_TCK'))", dataDir])
        {
            WorkingDirectory = ServiceProcess.RepoRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start python3");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"bench.PostgresGroup failed: {await errors}");
        var parts = (await output).Split(' ', StringSplitOptions.TrimEntries);
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }
}
