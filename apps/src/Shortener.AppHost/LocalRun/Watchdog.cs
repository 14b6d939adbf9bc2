using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;

namespace Shortener.AppHost.LocalRun;

/// <summary>What the run ended with: 0, or 1 once the watchdog gave up on a resource.</summary>
public sealed class RunOutcome
{
    public int ExitCode { get; set; }
}

/// <summary>
/// Makes a local run fail loudly instead of hanging: a resource that exits (other than the migrator finishing
/// cleanly) or is not ready within <paramref name="startupTimeout"/> stops the run with its last log lines on
/// the console, which otherwise only the dashboard shows. Also records each resource's processes by PID and
/// prints the URLs once everything is ready.
/// </summary>
public sealed class Watchdog(
    ResourceNotificationService notifications,
    ResourceLoggerService resourceLogs,
    DistributedApplicationModel model,
    IHostApplicationLifetime lifetime,
    RunRecord record,
    RunOutcome outcome,
    TimeSpan startupTimeout,
    string readyBanner) : BackgroundService
{
    private const int TailLines = 25;
    /// <summary>Resources that run to completion before the others start.</summary>
    private static readonly HashSet<string> s_oneShot = ["migrator"];

    private readonly ConcurrentDictionary<string, Queue<string>> _tails = new();
    private readonly Dictionary<string, CustomResourceSnapshot> _latest = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _failed;
    private volatile bool _ready;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Hidden resources (Aspire's per-project rebuilders) never start unless asked to.
        var watched = model.Resources
            .Where(r => r is ExecutableResource or ProjectResource && !r.Annotations.OfType<HiddenAnnotation>().Any())
            .ToList();
        foreach (var resource in watched) _ = TailAsync(resource, stoppingToken);

        using var startup = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        startup.CancelAfter(startupTimeout);
        using var onTimeout = startup.Token.Register(() =>
        {
            if (!stoppingToken.IsCancellationRequested && !_ready) Fail(NotReady(watched), $"not ready after {startupTimeout.TotalSeconds:0} s");
        });

        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (lifetime.ApplicationStopping.IsCancellationRequested) break;
                var snapshot = change.Snapshot;
                if (snapshot.IsHidden) lock (_latest) watched.Remove(change.Resource);
                if (!watched.Contains(change.Resource)) continue;
                lock (_latest) _latest[change.Resource.Name] = snapshot;

                if (snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pidValue
                    && int.TryParse(pidValue.ToString(), CultureInfo.InvariantCulture, out var pid))
                {
                    record.Record(change.Resource.Name, pid);
                }

                var state = snapshot.State?.Text;
                var exited = state == KnownResourceStates.Exited || state == KnownResourceStates.Finished || state == KnownResourceStates.FailedToStart;
                if (exited && !(s_oneShot.Contains(change.Resource.Name) && snapshot.ExitCode == 0))
                {
                    Fail([change.Resource.Name], state == KnownResourceStates.FailedToStart
                        ? "failed to start"
                        : $"exited with code {snapshot.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
                    break;
                }

                if (!_ready && NotReady(watched).Count == 0)
                {
                    _ready = true;
                    Console.WriteLine(readyBanner.Replace("{seconds}", _clock.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture), StringComparison.Ordinal));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The run is stopping.
        }
    }

    private List<string> NotReady(List<IResource> watched)
    {
        lock (_latest)
        {
            return [.. watched.Where(resource =>
            {
                if (!_latest.TryGetValue(resource.Name, out var snapshot)) return true;
                if (s_oneShot.Contains(resource.Name)) return !(snapshot.State?.Text == KnownResourceStates.Finished && snapshot.ExitCode == 0);
                var running = snapshot.State?.Text == KnownResourceStates.Running;
                return !running || (resource.Annotations.OfType<HealthCheckAnnotation>().Any() && snapshot.HealthStatus != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy);
            }).Select(r => r.Name)];
        }
    }

    private void Fail(IReadOnlyList<string> resources, string reason)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 1) return;
        outcome.ExitCode = 1;
        foreach (var name in resources)
        {
            string state;
            lock (_latest) state = _latest.TryGetValue(name, out var s) ? s.State?.Text ?? "unknown" : "not started";
            Console.Error.WriteLine();
            Console.Error.WriteLine($"make run: {name} {reason} (state: {state}). Its last log lines:");
            foreach (var line in _tails.TryGetValue(name, out var tail) ? Snapshot(tail) : []) Console.Error.WriteLine("  | " + line);
            if (name == "migrator")
            {
                Console.Error.WriteLine("  If .data/ holds a database from another version of this project, `make clean-data` starts afresh (it deletes the local links).");
            }
        }
        Console.Error.WriteLine("make run: stopping everything.");
        lifetime.StopApplication();
    }

    private static string[] Snapshot(Queue<string> tail)
    {
        lock (tail) return [.. tail];
    }

    private async Task TailAsync(IResource resource, CancellationToken stoppingToken)
    {
        var tail = _tails.GetOrAdd(resource.Name, _ => new Queue<string>());
        try
        {
            await foreach (var batch in resourceLogs.WatchAsync(resource).WithCancellation(stoppingToken))
            {
                lock (tail)
                {
                    foreach (var line in batch)
                    {
                        tail.Enqueue(line.Content);
                        if (tail.Count > TailLines) tail.Dequeue();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The run is stopping.
        }
    }
}
