using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Shortener.Deploy;

/// <summary>A container image by digest (registry/repository@sha256:...): the only form a release may name.</summary>
public sealed partial record ImageReference
{
    private ImageReference(string value) => Value = value;

    public string Value { get; }

    public static ImageReference Parse(string value) =>
        DigestReference().IsMatch(value)
            ? new ImageReference(value)
            : throw new ArgumentException($"'{value}' is not an image by digest (registry/repository@sha256:<64 hex>); a tag can move after review.");

    public override string ToString() => Value;

    // Lower-case path components as OCI requires, an optional registry port, and a full sha256 digest.
    [GeneratedRegex(@"\A[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}\z")]
    private static partial Regex DigestReference();
}

/// <summary>What gets deployed: a name (the tag) and the three images of apps/Dockerfile by digest.</summary>
public sealed record Release(string Name, ImageReference Api, ImageReference Worker, ImageReference Migrator)
{
    public ImageReference ImageOf(string service) => service switch
    {
        Services.Api => Api,
        Services.Worker => Worker,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "no such service"),
    };
}

public static class Services
{
    public const string Api = "api";
    public const string Worker = "worker";
}

/// <summary>The stored form of a release (history file), with plain strings.</summary>
public sealed record ReleaseRecord(string Name, string Api, string Worker, string Migrator)
{
    public static ReleaseRecord From(Release release) =>
        new(release.Name, release.Api.Value, release.Worker.Value, release.Migrator.Value);

    public Release ToRelease() =>
        new(Name, ImageReference.Parse(Api), ImageReference.Parse(Worker), ImageReference.Parse(Migrator));
}

[JsonConverter(typeof(JsonStringEnumConverter<DeployOutcome>))]
public enum DeployOutcome
{
    /// <summary>Every gate passed; the release is current.</summary>
    Deployed,

    /// <summary>A gate failed and the previous release was restored.</summary>
    RolledBack,

    /// <summary>A gate failed and nothing could be restored (first deploy, or the rollback failed too).</summary>
    Failed,
}
