namespace Shortener.Api.Faults;

public sealed class FaultOptions
{
    public const string Section = "Faults";

    /// <summary>Off unless a deployment turns it on: the admin endpoints and the middleware do not exist otherwise.</summary>
    public bool Enabled { get; set; }
}

/// <summary>What a game day asked for. Route null means every route; probes and /admin are never affected.</summary>
public sealed record FaultSettings(double ErrorRate, int LatencyMs, string? Route, DateTimeOffset? CpuBurnUntil, DateTimeOffset ExpiresAt)
{
    public bool AppliesTo(string? route) => Route is null || string.Equals(Route, route, StringComparison.Ordinal);
}

/// <summary>The body of PUT /admin/faults.</summary>
public sealed record FaultRequest(double? ErrorRate, string? Route, int? LatencyMs, int? CpuSeconds, int? DurationSeconds);
