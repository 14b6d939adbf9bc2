using System.Diagnostics;
using StackExchange.Redis;

namespace Shortener.Tests.Infrastructure;

/// <summary>A real redis-server on a free port, which a test may stop and start again to simulate an outage.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;
    private readonly string _dir;

    private RedisServer(int port, string dir)
    {
        Port = port;
        _dir = dir;
    }

    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    public static async Task<RedisServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "shortener-tests", $"redis-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var server = new RedisServer(TestPorts.Next(), dir);
        await server.StartProcessAsync();
        return server;
    }

    public async Task StartProcessAsync()
    {
        try
        {
            _process = LocalProcess.Start("redis-server",
                ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", _dir]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(
                "redis-server is not installed. Install it with: sudo apt-get install -y redis-server redis-tools (make test does this when run as root).");
        }
        await LocalProcess.WaitUntilAsync(async () =>
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(ConnectionString + ",connectTimeout=500");
            await connection.GetDatabase().PingAsync();
            return true;
        }, TimeSpan.FromSeconds(20), "Redis to answer PING");
    }

    /// <summary>Kills the server (an outage: in-memory data is gone, as with a crash without persistence).</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        LocalProcess.Signal(_process, LocalProcess.SigKill);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
