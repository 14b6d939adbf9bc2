extern alias deploy;
using System.Collections.Concurrent;
using deploy::Shortener.Deploy;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Deploy;

/// <summary>
/// The deploy tool's runtime as local processes: an "image" is the build of this repository plus the
/// settings a release carries (<paramref name="releases"/>), so a release can be made to fail its
/// readiness gate. API replicas join <paramref name="loadBalancer"/> as compose replicas join Traefik.
/// </summary>
public sealed class ProcessReleaseRuntime(
    IReadOnlyDictionary<ImageReference, IDictionary<string, string>> releases,
    IReadOnlyDictionary<string, IDictionary<string, string>> serviceEnvironment,
    ReadinessLoadBalancer loadBalancer) : IReleaseRuntime, IAsyncDisposable
{
    private static readonly Dictionary<string, string> s_projects = new() { ["api"] = "Shortener.Api", ["worker"] = "Shortener.Worker" };
    private readonly ConcurrentDictionary<string, (Replica Replica, ServiceProcess Process)> _running = new();
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    public IReadOnlyList<Replica> Running => [.. _running.Values.Select(r => r.Replica)];

    public int Started { get; private set; }

    public async Task RunMigratorAsync(ImageReference migrator, CancellationToken cancellationToken)
    {
        await using var process = await ServiceProcess.StartAsync("Shortener.Migrations",
            EnvironmentOf("migrator", migrator), waitUntilReady: false);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0) throw new GateFailedException($"migrator exited {process.ExitCode}");
    }

    public Task<IReadOnlyList<Replica>> ReplicasAsync(string service, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Replica>>([.. Running.Where(r => r.Service == service)]);

    public async Task<Replica> StartAsync(string service, int slot, ImageReference image, CancellationToken cancellationToken)
    {
        var process = await ServiceProcess.StartAsync(s_projects[service], EnvironmentOf(service, image), waitUntilReady: false);
        var replica = new Replica(service, slot, image, $"{service}-{slot}-{process.BaseAddress.Port}");
        _running[replica.Id] = (replica, process);
        Started++;
        if (service == "api") loadBalancer.Add(replica.Id, process.BaseAddress);
        return replica;
    }

    public async Task RetireAsync(Replica replica, CancellationToken cancellationToken)
    {
        if (!_running.TryRemove(replica.Id, out var entry)) return;
        // As `docker stop`: SIGTERM, the replica turns unready and the balancer stops sending during its drain.
        if (!entry.Process.HasExited) entry.Process.Signal(LocalProcess.SigTerm);
        await entry.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        loadBalancer.Remove(replica.Id);
        await entry.Process.DisposeAsync();
    }

    public async Task<bool> IsReadyAsync(Replica replica, CancellationToken cancellationToken)
    {
        if (!_running.TryGetValue(replica.Id, out var entry) || entry.Process.HasExited) return false;
        try
        {
            using var response = await _probe.GetAsync(new Uri(entry.Process.BaseAddress, "/readyz"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false; // still starting: the port is not open yet
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // no answer within the probe timeout: not ready, as for Traefik
        }
    }

    private Dictionary<string, string> EnvironmentOf(string service, ImageReference image)
    {
        var environment = new Dictionary<string, string>(serviceEnvironment[service]);
        foreach (var (key, value) in releases[image]) environment[key] = value;
        return environment;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process) in _running.Values) await process.DisposeAsync();
        _running.Clear();
        _probe.Dispose();
    }
}
