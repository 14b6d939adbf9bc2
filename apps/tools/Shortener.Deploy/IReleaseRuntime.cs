namespace Shortener.Deploy;

/// <summary>One running instance of a service in a numbered slot (the compose replica number).</summary>
public sealed record Replica(string Service, int Slot, ImageReference Image, string Id);

/// <summary>
/// Where releases run. <see cref="Rollout"/> holds the logic (order, gates, rollback); a runtime only
/// starts, probes and stops replicas: <see cref="ComposeRuntime"/> on the VM, local processes in the tests.
/// </summary>
public interface IReleaseRuntime
{
    /// <summary>Runs the one-shot migrator of a release to completion; throws if it fails.</summary>
    Task RunMigratorAsync(ImageReference migrator, CancellationToken cancellationToken);

    Task<IReadOnlyList<Replica>> ReplicasAsync(string service, CancellationToken cancellationToken);

    /// <summary>
    /// Starts a replica of <paramref name="service"/> in <paramref name="slot"/> from <paramref name="image"/>.
    /// A runtime that can run two replicas side by side leaves the slot's current one alone (the rollout
    /// retires it once the new one is ready); one that cannot (fixed container names behind Traefik)
    /// retires it first, and the other replicas carry the traffic meanwhile.
    /// </summary>
    Task<Replica> StartAsync(string service, int slot, ImageReference image, CancellationToken cancellationToken);

    /// <summary>Stops a replica gracefully (SIGTERM: it turns unready, drains, exits); no-op if it is gone.</summary>
    Task RetireAsync(Replica replica, CancellationToken cancellationToken);

    /// <summary>True when the replica's /readyz answers 200.</summary>
    Task<bool> IsReadyAsync(Replica replica, CancellationToken cancellationToken);
}
