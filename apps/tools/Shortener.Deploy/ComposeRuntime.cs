using System.Text;
using CliWrap;
using CliWrap.Buffered;

namespace Shortener.Deploy;

/// <summary>
/// The VM: deploy/compose run by Docker Compose, with the release's images by digest in an override
/// file (compose.release.yaml) next to compose.yaml. Traefik's file provider routes to fixed container
/// names (&lt;project&gt;-api-&lt;n&gt;, health-checked on /readyz every second), so a slot is replaced in
/// place: the old container drains and goes, the new one takes its name; the other replicas carry the
/// traffic meanwhile. Readiness is probed inside the container (the network has no published ports).
/// Not exercised on the build machines (no Docker engine there); the rollout logic it serves is, with
/// local processes (apps/tests/Shortener.Tests/Deploy).
/// </summary>
public sealed class ComposeRuntime(string composeDirectory, IReadOnlyList<string> composeFiles, string project,
    IReadOnlyDictionary<string, int> replicas, Action<string> log) : IReleaseRuntime
{
    private const string OverrideFile = "compose.release.yaml";
    private static readonly Dictionary<string, int> s_ports = new() { [Services.Api] = 8080, [Services.Worker] = 8081 };
    private readonly Dictionary<string, ImageReference> _images = [];

    public async Task RunMigratorAsync(ImageReference migrator, CancellationToken cancellationToken)
    {
        await PinImageAsync("migrator", migrator, cancellationToken);
        await RunAsync("docker", [.. ComposeArguments(), "run", "--rm", "--no-deps", "migrator"], cancellationToken);
    }

    public async Task<IReadOnlyList<Replica>> ReplicasAsync(string service, CancellationToken cancellationToken)
    {
        var listing = await RunAsync("docker", ["ps", "--all",
            "--filter", $"label=com.docker.compose.project={project}",
            "--filter", $"label=com.docker.compose.service={service}",
            "--format", "{{.Names}}\t{{.Image}}"], cancellationToken);
        var found = new List<Replica>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            var prefix = $"{project}-{service}-";
            if (!parts[0].StartsWith(prefix, StringComparison.Ordinal) || !int.TryParse(parts[0][prefix.Length..], out var slot)) continue;
            // Containers from a tag (before the first digest deploy) have no digest: they never match a release.
            if (TryParse(parts[1]) is { } image) found.Add(new Replica(service, slot, image, parts[0]));
            else found.Add(new Replica(service, slot, ImageReference.Parse($"unknown.invalid/{service}@sha256:{new string('0', 64)}"), parts[0]));
        }
        return found;
    }

    public async Task<Replica> StartAsync(string service, int slot, ImageReference image, CancellationToken cancellationToken)
    {
        var name = $"{project}-{service}-{slot}";
        await PinImageAsync(service, image, cancellationToken);
        await RemoveAsync(name, cancellationToken);
        var before = (await ReplicasAsync(service, cancellationToken)).Select(r => r.Id).ToHashSet();
        // --no-recreate: the other replicas keep running their image; compose only adds the missing one.
        await RunAsync("docker", [.. ComposeArguments(), "up", "--detach", "--no-deps", "--no-recreate",
            "--scale", $"{service}={replicas[service]}", service], cancellationToken);
        var created = (await ReplicasAsync(service, cancellationToken)).Single(r => !before.Contains(r.Id));
        // Compose numbers a new container after the highest existing one; Traefik knows the slot's name.
        if (created.Id != name) await RunAsync("docker", ["rename", created.Id, name], cancellationToken);
        return created with { Slot = slot, Id = name };
    }

    public Task RetireAsync(Replica replica, CancellationToken cancellationToken) => RemoveAsync(replica.Id, cancellationToken);

    public async Task<bool> IsReadyAsync(Replica replica, CancellationToken cancellationToken)
    {
        // The runtime image has no curl: bash speaks HTTP over /dev/tcp, as the image's HEALTHCHECK does.
        var probe = $"exec 3<>/dev/tcp/127.0.0.1/{s_ports[replica.Service]} && printf 'GET /readyz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '";
        var result = await Cli.Wrap("docker").WithArguments(["exec", replica.Id, "bash", "-c", probe])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
        return result.ExitCode == 0;
    }

    private static async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        // stop -t 30: SIGTERM, /readyz turns 503, Traefik takes it out, in-flight requests finish (stop_grace_period).
        await Cli.Wrap("docker").WithArguments(["stop", "--time", "30", name])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
        await Cli.Wrap("docker").WithArguments(["rm", "--force", name])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
    }

    /// <summary>Pulls the image by digest and records it in the override file compose reads.</summary>
    private async Task PinImageAsync(string service, ImageReference image, CancellationToken cancellationToken)
    {
        await RunAsync("docker", ["pull", "--quiet", image.Value], cancellationToken);
        _images[service] = image;
        var yaml = new StringBuilder("# Written by shortener-deploy: the images of the release being deployed, by digest.\nservices:\n");
        foreach (var (name, reference) in _images.OrderBy(i => i.Key, StringComparer.Ordinal))
        {
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"  {name}:\n    image: {reference.Value}\n    pull_policy: missing\n");
        }
        await File.WriteAllTextAsync(Path.Combine(composeDirectory, OverrideFile), yaml.ToString(), cancellationToken);
    }

    private string[] ComposeArguments() =>
        ["compose", "--project-directory", composeDirectory, "--project-name", project,
            .. composeFiles.Append(OverrideFile).SelectMany(f => new[] { "--file", Path.Combine(composeDirectory, f) })];

    private async Task<string> RunAsync(string program, string[] arguments, CancellationToken cancellationToken)
    {
        log($"$ {program} {string.Join(' ', arguments)}");
        var result = await Cli.Wrap(program).WithArguments(arguments)
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync(cancellationToken);
        if (result.ExitCode != 0) throw new GateFailedException($"{program} {string.Join(' ', arguments.Take(4))}... exited {result.ExitCode}: {result.StandardError.Trim()}");
        return result.StandardOutput;
    }

    private static ImageReference? TryParse(string value)
    {
        try { return ImageReference.Parse(value); }
        catch (ArgumentException) { return null; }
    }
}
