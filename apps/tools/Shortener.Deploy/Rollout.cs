using System.Diagnostics;

namespace Shortener.Deploy;

public sealed record RolloutOptions
{
    /// <summary>Services in rollout order with their replica count: the API first (users see it), then the worker.</summary>
    public IReadOnlyList<(string Service, int Replicas)> Services { get; init; } = [(Deploy.Services.Api, 2), (Deploy.Services.Worker, 1)];

    /// <summary>How long a new replica may take to answer /readyz 200.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Consecutive 200s from /readyz before a replica counts as ready (one lucky answer is not enough).</summary>
    public int ReadyStreak { get; init; } = 3;

    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

public sealed record DeployResult(DeployOutcome Outcome, string Detail, TimeSpan Rollout, TimeSpan? Rollback);

/// <summary>
/// Deploys a release one replica at a time, each behind a readiness gate, then the SLO gate; when any
/// gate fails, restores the previous release (recorded in <see cref="ReleaseHistory"/>) the same way.
/// The migrator runs first and is never rolled back: only expand migrations ship (check-migrations),
/// so the previous release runs on the new schema.
/// </summary>
public sealed class Rollout(IReleaseRuntime runtime, ReleaseHistory history, RolloutOptions options, ISloGate? sloGate, Action<string> log)
{
    public async Task<DeployResult> DeployAsync(Release target, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var previous = history.Current;
        log($"deploying {target.Name} (previous: {previous?.Name ?? "none"})");
        try
        {
            await runtime.RunMigratorAsync(target.Migrator, cancellationToken);
            log("migrator completed");
            await RollToAsync(target, cancellationToken);
            if (sloGate is not null)
            {
                var verdict = await sloGate.CheckAsync(cancellationToken);
                log($"SLO gate: {verdict.Detail}");
                if (!verdict.Passed) throw new GateFailedException(verdict.Detail);
            }
        }
        catch (GateFailedException failure)
        {
            var rollout = clock.Elapsed;
            log($"gate failed after {rollout.TotalSeconds:F1} s: {failure.Message}");
            if (previous is null)
            {
                // Nothing to go back to: stop what this release started, rather than leave half of it serving.
                foreach (var (service, _) in options.Services)
                {
                    foreach (var replica in await runtime.ReplicasAsync(service, cancellationToken))
                    {
                        if (replica.Image == target.ImageOf(service)) await runtime.RetireAsync(replica, cancellationToken);
                    }
                }
                history.Record(target, DeployOutcome.Failed, failure.Message + "; no previous release to restore", clock.Elapsed);
                return new DeployResult(DeployOutcome.Failed, failure.Message, rollout, null);
            }
            var rollbackClock = Stopwatch.StartNew();
            try
            {
                log($"rolling back to {previous.Name}");
                await RollToAsync(previous, cancellationToken);
            }
            catch (GateFailedException rollbackFailure)
            {
                var detail = $"{failure.Message}; rollback to {previous.Name} failed too: {rollbackFailure.Message}";
                history.Record(target, DeployOutcome.Failed, detail, clock.Elapsed);
                return new DeployResult(DeployOutcome.Failed, detail, rollout, rollbackClock.Elapsed);
            }
            log($"rolled back to {previous.Name} in {rollbackClock.Elapsed.TotalSeconds:F1} s");
            history.Record(target, DeployOutcome.RolledBack, failure.Message, clock.Elapsed);
            return new DeployResult(DeployOutcome.RolledBack, failure.Message, rollout, rollbackClock.Elapsed);
        }
        history.Record(target, DeployOutcome.Deployed, "every gate passed", clock.Elapsed);
        log($"{target.Name} deployed in {clock.Elapsed.TotalSeconds:F1} s");
        return new DeployResult(DeployOutcome.Deployed, "every gate passed", clock.Elapsed, null);
    }

    /// <summary>Brings every slot of every service to the release's image, one slot at a time.</summary>
    private async Task RollToAsync(Release release, CancellationToken cancellationToken)
    {
        foreach (var (service, replicas) in options.Services)
        {
            var image = release.ImageOf(service);
            for (var slot = 1; slot <= replicas; slot++)
            {
                var current = (await runtime.ReplicasAsync(service, cancellationToken)).FirstOrDefault(r => r.Slot == slot);
                if (current is not null && current.Image == image && await runtime.IsReadyAsync(current, cancellationToken)) continue;

                var next = await runtime.StartAsync(service, slot, image, cancellationToken);
                var waited = Stopwatch.StartNew();
                if (!await BecomesReadyAsync(next, cancellationToken))
                {
                    await runtime.RetireAsync(next, cancellationToken);
                    throw new GateFailedException($"{service} replica {slot} ({image}) not ready within {options.ReadyTimeout.TotalSeconds:F0} s");
                }
                log($"{service} replica {slot} ready on {release.Name} after {waited.Elapsed.TotalSeconds:F1} s");
                if (current is not null && current.Id != next.Id) await runtime.RetireAsync(current, cancellationToken);
            }
        }
    }

    private async Task<bool> BecomesReadyAsync(Replica replica, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var streak = 0;
        while (deadline.Elapsed < options.ReadyTimeout)
        {
            streak = await runtime.IsReadyAsync(replica, cancellationToken) ? streak + 1 : 0;
            if (streak >= options.ReadyStreak) return true;
            await Task.Delay(options.ProbeInterval, cancellationToken);
        }
        return false;
    }
}

public sealed class GateFailedException(string message) : Exception(message);
