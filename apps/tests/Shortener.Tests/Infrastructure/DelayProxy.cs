using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// A loopback TCP proxy that holds every forwarded chunk for <see cref="Delay"/> (in both directions, order
/// kept), like a slow network between a service and its database. The delay can change while connections are open.
/// </summary>
public sealed class DelayProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Task _accepting;
    private long _delayTicks;

    public DelayProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        // On the thread pool: not on the test framework's synchronization context, which has few threads.
        _accepting = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>
    /// False: only answers (target to client) are held, so a query reaches the database at once and its result comes
    /// back late, which opens a deterministic window between a read and its use.
    /// </summary>
    public bool DelayRequests { get; set; } = true;

    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            lock (_tasks) _tasks.Add(ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            client.NoDelay = true;
            upstream.NoDelay = true;
            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PumpAsync(client.GetStream(), upstream.GetStream(), towardsClient: false, done.Token);
            var down = PumpAsync(upstream.GetStream(), client.GetStream(), towardsClient: true, done.Token);
            await Task.WhenAny(up, down);
            await done.CancelAsync();
            await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException)
        {
            // Either side went away.
        }
    }

    /// <summary>Reads chunks as they come and writes each one once it is <see cref="Delay"/> old.</summary>
    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool towardsClient, CancellationToken ct)
    {
        var chunks = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var (due, data) in chunks.Reader.ReadAllAsync(ct))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
                await to.WriteAsync(data, ct);
            }
        }, ct);
        try
        {
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = await from.ReadAsync(buffer, ct)) > 0)
            {
                var delay = towardsClient || DelayRequests ? Delay : TimeSpan.Zero;
                var due = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
                chunks.Writer.TryWrite((due, buffer[..read]));
            }
        }
        finally
        {
            chunks.Writer.TryComplete();
        }
        await writer;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] tasks;
        lock (_tasks) tasks = [.. _tasks];
        await Task.WhenAll(tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }
}
