using System.Diagnostics;
using System.Globalization;

namespace Shortener.AppHost.LocalRun;

/// <summary>
/// The processes a local run started, recorded as PID + start time under DATA_DIR/run, so a later run (or
/// this one, on its way out) stops exactly those and never a stranger that reused a PID or matches a pattern.
/// </summary>
public sealed class RunRecord(string dataDir)
{
    private readonly Dictionary<int, (string Name, long Start)> _processes = [];
    private readonly Lock _lock = new();
    private readonly long _since = StartTime(Environment.ProcessId) ?? long.MaxValue;

    private static string RunDir(string dataDir) => Path.Combine(dataDir, "run");
    private static string AppHostFile(string dataDir) => Path.Combine(RunDir(dataDir), "apphost.pid");
    private static string ProcessesFile(string dataDir) => Path.Combine(RunDir(dataDir), "processes");

    /// <summary>The PID of a live AppHost serving this data directory, if there is one.</summary>
    public static int? RunningAppHost(string dataDir)
    {
        var file = AppHostFile(dataDir);
        if (!File.Exists(file)) return null;
        var fields = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length == 2 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out var pid)
            && long.TryParse(fields[1], CultureInfo.InvariantCulture, out var start) && StartTime(pid) == start && pid != Environment.ProcessId
            ? pid
            : null;
    }

    public void RecordAppHost()
    {
        Directory.CreateDirectory(RunDir(dataDir));
        var pid = Environment.ProcessId;
        File.WriteAllText(AppHostFile(dataDir), string.Create(CultureInfo.InvariantCulture, $"{pid} {StartTime(pid)}\n"));
    }

    /// <summary>Records a resource's process and everything it has started so far (postgres.sh → postgres → backends).</summary>
    public void Record(string name, int pid)
    {
        // Only a live process started after this AppHost can be one of ours (a resource not started yet
        // may report PID 0, whose "descendants" would be every process on the machine).
        if (pid <= 1 || pid == Environment.ProcessId || StartTime(pid) is not { } rootStart || rootStart < _since) return;
        lock (_lock)
        {
            var changed = false;
            foreach (var process in WithDescendants(pid))
            {
                if (_processes.ContainsKey(process) || StartTime(process) is not { } start || start < _since) continue;
                _processes[process] = (name, start);
                changed = true;
            }
            if (!changed) return;
            Directory.CreateDirectory(RunDir(dataDir));
            File.WriteAllLines(ProcessesFile(dataDir),
                _processes.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value.Start} {p.Value.Name}")));
        }
    }

    /// <summary>
    /// Gives the recorded processes <paramref name="patience"/> to exit on their own, then stops those still
    /// alive (SIGTERM, then SIGKILL after <paramref name="grace"/>) and forgets the record.
    /// Returns how many had to be stopped.
    /// </summary>
    public static int StopLeftovers(string dataDir, TimeSpan patience, TimeSpan grace)
    {
        var file = ProcessesFile(dataDir);
        if (!File.Exists(file)) return 0;
        var alive = new List<(int Pid, long Start)>();
        foreach (var line in File.ReadAllLines(file))
        {
            var fields = line.Split(' ', 3);
            if (fields.Length == 3 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out var pid) && pid > 1 && pid != Environment.ProcessId
                && long.TryParse(fields[1], CultureInfo.InvariantCulture, out var start) && StartTime(pid) == start)
            {
                alive.Add((pid, start));
            }
        }
        var patient = DateTime.UtcNow + patience;
        while (alive.Any(p => StartTime(p.Pid) == p.Start) && DateTime.UtcNow < patient) Thread.Sleep(200);
        alive.RemoveAll(p => StartTime(p.Pid) != p.Start);
        Signal("TERM", alive.Select(p => p.Pid));
        var deadline = DateTime.UtcNow + grace;
        while (alive.Any(p => StartTime(p.Pid) == p.Start) && DateTime.UtcNow < deadline) Thread.Sleep(200);
        Signal("KILL", alive.Where(p => StartTime(p.Pid) == p.Start).Select(p => p.Pid));
        File.Delete(file);
        return alive.Count;
    }

    public static void Forget(string dataDir)
    {
        File.Delete(AppHostFile(dataDir));
    }

    private static void Signal(string signal, IEnumerable<int> pids)
    {
        var arguments = pids.Select(p => p.ToString(CultureInfo.InvariantCulture)).ToList();
        if (arguments.Count == 0) return;
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, .. arguments]) { RedirectStandardError = true });
        kill?.WaitForExit();
    }

    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or null if it is gone.</summary>
    internal static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static List<int> WithDescendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid)) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list)) children[parent] = list = [];
                list.Add(pid);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // Gone while we looked.
            }
        }
        var result = new List<int> { root };
        for (var i = 0; i < result.Count; i++)
        {
            if (children.TryGetValue(result[i], out var list)) result.AddRange(list);
        }
        return result;
    }
}
