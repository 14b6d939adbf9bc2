extern alias bench;
using bench::Shortener.Bench;
using Shortener.Contracts;

namespace Shortener.Tests.Tooling;

/// <summary>
/// `make bench` measures the worker's drain on streams filled by Shortener.Bench: the fill must be what an API writes
/// (the worker's own parser reads every entry back with the same counts), and its shape what it claims to be, or the
/// clicks/s figure describes some other workload.
/// </summary>
public sealed class StreamFillTests
{
    private static readonly DateOnly Day = new(2026, 12, 3);

    [Fact]
    public void BatchesAreOneApiFlushPerIntervalChunkedAsThePublisherDoesAndParseBackExactly()
    {
        var batches = StreamFill.Batches(clicks: 25_500, clicksPerFlush: 10_000, keysPerEntry: 250, new CodePopularity(5_000, 0), Day, seed: 7).ToList();

        long total = 0;
        foreach (var batch in batches)
        {
            Assert.InRange(batch.Counts.Count, 1, 250);
            Assert.True(ClickBatch.TryParse(batch.ToStreamFields(), out var parsed, out var error), error);
            Assert.Equal(batch.BatchId, parsed.BatchId);
            Assert.Equal(batch.Counts, parsed.Counts);
            total += parsed.TotalClicks;
        }
        Assert.Equal(25_500, total);
        Assert.Equal(batches.Count, batches.Select(b => b.BatchId).Distinct().Count());
        // Three flushes (10,000 + 10,000 + 5,500 clicks), each chunked on its own: a key repeats across flushes, never within one.
        var flushes = new List<List<ClickBatch>> { new() };
        foreach (var batch in batches)
        {
            flushes[^1].Add(batch);
            if (flushes[^1].Sum(b => b.TotalClicks) == 10_000) flushes.Add([]);
        }
        Assert.Equal([10_000, 10_000, 5_500], flushes.Select(f => f.Sum(b => b.TotalClicks)));
        var keysPerFlush = flushes.Select(f => f.SelectMany(b => b.Counts).Select(c => c.Key).ToList()).ToList();
        Assert.All(keysPerFlush, keys => Assert.Equal(keys.Count, keys.Distinct().Count()));
        Assert.True(keysPerFlush[0].Intersect(keysPerFlush[1]).Any(), "no key repeated across flushes");
    }

    [Fact]
    public void UniformClicksRepeatAKeyAsOftenAsChanceSays()
    {
        // n clicks over K equally likely codes touch K(1 - (1 - 1/K)^n) distinct codes on average.
        const int codes = 100_000, perFlush = 25_000;
        var batches = StreamFill.Batches(perFlush, perFlush, 250, new CodePopularity(codes, 0), Day, seed: 1).ToList();
        var expected = codes * (1 - Math.Pow(1 - 1.0 / codes, perFlush));
        Assert.InRange(batches.Sum(b => b.Counts.Count), expected * 0.98, expected * 1.02);
    }

    [Fact]
    public void ZipfGivesTheTopCodeItsShareOfTheClicks()
    {
        // Exponent 1 over K codes: code i has probability (1/i) / H_K; the first of 1,000 codes about 13.4 %.
        const int codes = 1_000, clicks = 200_000;
        var harmonic = Enumerable.Range(1, codes).Sum(i => 1.0 / i);
        var counts = StreamFill.Batches(clicks, clicks, 250, new CodePopularity(codes, 1.0), Day, seed: 3)
            .SelectMany(b => b.Counts).ToDictionary(c => c.Key.Code, c => c.Clicks);
        Assert.InRange(counts[StreamFill.Code(0)] / (double)clicks, 0.97 / harmonic, 1.03 / harmonic);
        Assert.InRange(counts[StreamFill.Code(1)] / (double)clicks, 0.97 / harmonic / 2, 1.03 / harmonic / 2);
    }

    [Fact]
    public void PerClickEventsParseAsTheWorkerReadsThem()
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var events = StreamFill.Events(1_000, new CodePopularity(50, 0), now, seed: 5).ToList();
        Assert.Equal(1_000, events.Select(e => e.EventId).Distinct().Count());
        foreach (var click in events)
        {
            Assert.True(ClickBatch.TryParse(click.ToStreamFields(), out var parsed, out var error), error);
            Assert.Equal(click.EventId, parsed.BatchId);
            var (key, clicks) = Assert.Single(parsed.Counts);
            Assert.Equal((click.Code, 1L), (key.Code, clicks));
        }
    }
}
