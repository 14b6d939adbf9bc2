using Shortener.Contracts;
using StackExchange.Redis;

namespace Shortener.Tests.Infrastructure;

/// <summary>Reads the click stream back as the worker would: every entry parsed as a <see cref="ClickBatch"/>.</summary>
public static class ClickStreamReader
{
    public static async Task<List<ClickBatch>> BatchesAsync(IDatabase db) =>
        [.. (await db.StreamRangeAsync(ClickStream.Key)).Select(e =>
            ClickBatch.TryParse(e.Values, out var batch, out var error) ? batch : throw new InvalidOperationException(error))];

    public static long ClicksOf(IEnumerable<ClickBatch> batches, string code) =>
        batches.SelectMany(b => b.Counts).Where(c => c.Key.Code == code).Sum(c => c.Clicks);

    public static async Task<long> ClicksOfAsync(IDatabase db, string code) => ClicksOf(await BatchesAsync(db), code);

    public static async Task<long> TotalClicksAsync(IDatabase db) => (await BatchesAsync(db)).Sum(b => b.TotalClicks);
}
