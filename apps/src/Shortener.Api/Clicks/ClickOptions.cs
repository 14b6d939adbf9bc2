using System.ComponentModel.DataAnnotations;

namespace Shortener.Api.Clicks;

public sealed class ClickOptions
{
    public const string Section = "Clicks";

    /// <summary>Clicks waiting to be written to the stream; past this they are dropped (and counted), never blocking a redirect.</summary>
    [Range(1, 10_000_000)]
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>Events per pipelined write to Redis.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>Pause after a failed write before retrying the same batch.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}
