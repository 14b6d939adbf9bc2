using System.Net;
using System.Net.Sockets;

namespace Shortener.AppHost.LocalRun;

/// <summary>
/// What would make a local run hang or fail half-way, found before anything starts: another run of the
/// same data directory, a port already taken, processes left behind by a run that was killed.
/// </summary>
public static class Preflight
{
    /// <returns>A one-line explanation of why the run cannot start, or null.</returns>
    public static string? Check(string dataDir, IEnumerable<(string Name, int Port)> ports)
    {
        var running = RunRecord.RunningAppHost(dataDir);
        if (running is not null)
        {
            return $"A local run of {dataDir} is already running (AppHost PID {running}): use it, or stop it with Ctrl-C in its terminal or `kill {running}`.";
        }

        // A killed run (SIGKILL, a closed terminal) leaves its processes; they are ours by recorded PID and start time.
        var stopped = RunRecord.StopLeftovers(dataDir, TimeSpan.Zero, TimeSpan.FromSeconds(10));
        if (stopped > 0) Console.WriteLine($"Stopped {stopped} process(es) left by an earlier run of {dataDir}.");

        foreach (var (name, port) in ports)
        {
            if (!IsFree(port))
            {
                return $"Port {port} ({name}) is already in use on 127.0.0.1: stop what holds it (`ss -ltnp 'sport = :{port}'` shows it) or choose another port (see README, \"Ports\").";
            }
        }
        return null;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
