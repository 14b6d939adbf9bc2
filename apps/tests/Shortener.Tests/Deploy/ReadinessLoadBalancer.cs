using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shortener.Tests.Infrastructure;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Shortener.Tests.Deploy;

/// <summary>
/// Traefik's part in the compose stack, played by YARP: one route to the API replicas, each probed on
/// /readyz (here every 250 ms; Traefik: every 1 s), and traffic only to replicas whose probe passed.
/// Unlike Traefik, a replica the runtime has just added gets no traffic before its first good probe.
/// </summary>
public sealed class ReadinessLoadBalancer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Dictionary<string, DestinationConfig> _destinations = [];

    private ReadinessLoadBalancer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<ReadinessLoadBalancer> StartAsync()
    {
        var address = new Uri($"http://127.0.0.1:{TestPorts.Next()}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(address.ToString());
        builder.Logging.ClearProviders();
        builder.Services.AddReverseProxy().LoadFromMemory([Route], [Cluster(new Dictionary<string, DestinationConfig>())]);
        builder.Services.AddSingleton<IAvailableDestinationsPolicy, ReadyOnlyPolicy>();
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        return new ReadinessLoadBalancer(app, address);
    }

    public void Add(string id, Uri replica)
    {
        lock (_destinations)
        {
            _destinations[id] = new DestinationConfig { Address = replica.ToString() };
            Publish();
        }
    }

    public void Remove(string id)
    {
        lock (_destinations)
        {
            _destinations.Remove(id);
            Publish();
        }
    }

    private void Publish() =>
        _app.Services.GetRequiredService<InMemoryConfigProvider>().Update([Route], [Cluster(new Dictionary<string, DestinationConfig>(_destinations))]);

    private static RouteConfig Route => new() { RouteId = "all", ClusterId = "api", Match = new RouteMatch { Path = "{**path}" } };

    private static ClusterConfig Cluster(IReadOnlyDictionary<string, DestinationConfig> destinations) => new()
    {
        ClusterId = "api",
        Destinations = destinations,
        HealthCheck = new HealthCheckConfig
        {
            AvailableDestinationsPolicy = ReadyOnlyPolicy.PolicyName,
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = TimeSpan.FromMilliseconds(250),
                Timeout = TimeSpan.FromSeconds(1),
                Policy = "ConsecutiveFailures",
                Path = "/readyz",
            },
        },
        // One failed probe takes a replica out, like Traefik's health check.
        Metadata = new Dictionary<string, string> { ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1" },
    };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>Only replicas whose last /readyz probe passed (YARP's defaults also route to never-probed ones).</summary>
    private sealed class ReadyOnlyPolicy : IAvailableDestinationsPolicy
    {
        public const string PolicyName = "ReadyOnly";

        public string Name => PolicyName;

        public IReadOnlyList<DestinationState> GetAvailalableDestinations(ClusterConfig config, IReadOnlyList<DestinationState> allDestinations) =>
            [.. allDestinations.Where(d => d.Health.Active == DestinationHealth.Healthy)];
    }
}
