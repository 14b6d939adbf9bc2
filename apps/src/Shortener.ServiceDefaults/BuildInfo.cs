using System.Reflection;

namespace Shortener.ServiceDefaults;

/// <summary>What /version reports: stamped into the entry assembly at build time (see Directory.Build.props).</summary>
public sealed record BuildInfo(string Service, string Version, string GitSha, string BuildDate)
{
    public static BuildInfo FromAssembly(Assembly assembly)
    {
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        // The SDK appends "+<source revision>" to the informational version.
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        var sha = plus < 0 ? "unknown" : informational[(plus + 1)..];
        var buildDate = assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BuildDate")?.Value ?? "unknown";
        return new BuildInfo(assembly.GetName().Name ?? "unknown", version, sha, buildDate);
    }
}
