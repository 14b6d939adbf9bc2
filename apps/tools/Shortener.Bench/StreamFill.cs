using Shortener.Contracts;

namespace Shortener.Bench;

/// <summary>How clicks are spread over the codes: uniform (every code alike), or Zipf with an exponent (a few codes take most clicks).</summary>
public sealed class CodePopularity
{
    private readonly double[] _cumulative;

    public CodePopularity(int codes, double zipfExponent)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(codes, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(zipfExponent);
        _cumulative = new double[codes];
        var sum = 0.0;
        for (var i = 0; i < codes; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, zipfExponent);
            _cumulative[i] = sum;
        }
        for (var i = 0; i < codes; i++) _cumulative[i] /= sum;
    }

    public int Next(Random random)
    {
        var i = Array.BinarySearch(_cumulative, random.NextDouble());
        return Math.Min(i < 0 ? ~i : i, _cumulative.Length - 1);
    }
}

/// <summary>
/// Stream entries as an API writes them. <see cref="Events"/>: one <see cref="ClickEvent"/> per click (the format before
/// ADR 0010, still read by the worker). <see cref="Batches"/>: what an API process flushes, second by second, at a
/// given click rate: the clicks of one flush interval counted per key, one <see cref="ClickBatch"/> per
/// <paramref name="keysPerEntry"/> keys, exactly as <c>ClickPublisher</c> chunks them.
/// </summary>
public static class StreamFill
{
    public const string UserAgentFamily = "firefox";

    public static string Code(int i) => $"k{i:D8}";

    public static IEnumerable<ClickEvent> Events(long clicks, CodePopularity popularity, DateTimeOffset now, int seed)
    {
        var random = new Random(seed);
        for (long i = 0; i < clicks; i++)
        {
            yield return new ClickEvent(Guid.CreateVersion7(), Code(popularity.Next(random)), now.AddMilliseconds(i - clicks), null, UserAgentFamily, null);
        }
    }

    public static IEnumerable<ClickBatch> Batches(long clicks, int clicksPerFlush, int keysPerEntry, CodePopularity popularity, DateOnly day, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clicksPerFlush, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(keysPerEntry, 1);
        var random = new Random(seed);
        for (long done = 0; done < clicks;)
        {
            var flush = (int)Math.Min(clicksPerFlush, clicks - done);
            var counts = new Dictionary<int, long>();
            for (var i = 0; i < flush; i++)
            {
                var code = popularity.Next(random);
                counts[code] = counts.GetValueOrDefault(code) + 1;
            }
            done += flush;
            foreach (var chunk in counts.Chunk(keysPerEntry))
            {
                yield return new ClickBatch(Guid.CreateVersion7(),
                    [.. chunk.Select(c => (new ClickKey(Code(c.Key), day, null, UserAgentFamily), c.Value))], []);
            }
        }
    }
}
