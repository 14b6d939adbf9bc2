using System.Net;
using System.Net.Sockets;

namespace Shortener.Testing;

/// <summary>
/// Ports for the servers the tests start (PostgreSQL, Redis, an AppHost's whole stack), held for this test process's
/// lifetime. Two things make a port handed out here stay free until its server binds it:
/// it lies below the kernel's ephemeral range, so no outgoing connection and no bind(0) anywhere is given it (the old
/// bind-then-release picked ephemeral ports, and one was taken by a connection during `make run`'s two-minute build);
/// and it is locked with a file, so the other test assemblies running alongside never pick it too.
/// </summary>
public static class TestPorts
{
    private static readonly Lock s_lock = new();
    private static readonly List<FileStream> s_held = [];
    private static readonly string s_lockDirectory = Path.Combine(Path.GetTempPath(), "shortener-test-ports");
    private static readonly (int First, int Last) s_range = RangeBelowEphemeral();
    private static int s_next = Random.Shared.Next(s_range.First, s_range.Last);

    /// <summary>The first of <paramref name="count"/> consecutive free ports, reserved for this process.</summary>
    public static int Next(int count = 1)
    {
        lock (s_lock)
        {
            Directory.CreateDirectory(s_lockDirectory);
            for (var tries = 0; tries < s_range.Last - s_range.First; tries++)
            {
                var first = s_next;
                s_next = first + count > s_range.Last ? s_range.First : first + count;
                if (first + count - 1 > s_range.Last) continue;
                var locks = new List<FileStream>();
                for (var port = first; port < first + count && TryLock(port) is { } held; port++) locks.Add(held);
                if (locks.Count == count && Enumerable.Range(first, count).All(IsFree))
                {
                    s_held.AddRange(locks);
                    return first;
                }
                foreach (var held in locks) held.Dispose();
            }
            throw new InvalidOperationException($"No free port between {s_range.First} and {s_range.Last}.");
        }
    }

    /// <summary>Nothing listens on <paramref name="port"/>, on loopback or on every address.</summary>
    public static bool IsFree(int port) => CanBind(IPAddress.Loopback, port) && CanBind(IPAddress.Any, port);

    private static bool CanBind(IPAddress address, int port)
    {
        try
        {
            using var listener = new TcpListener(address, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // .NET takes an flock for FileShare.None on Unix; the kernel drops it when this process exits, however it exits.
    private static FileStream? TryLock(int port)
    {
        try
        {
            return new FileStream(Path.Combine(s_lockDirectory, $"{port}.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    // Linux's default ephemeral range is 32768-60999: use the 12,000 ports below its start.
    private static (int, int) RangeBelowEphemeral()
    {
        var low = 32768;
        const string setting = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(setting) && int.TryParse(File.ReadAllText(setting).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], out var configured))
        {
            low = configured;
        }
        return (Math.Max(1024, low - 12_000), low - 1);
    }
}
