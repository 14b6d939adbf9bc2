using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Shortener.Bench;
using Shortener.Contracts;
using StackExchange.Redis;

// Usage: Shortener.Bench fill-stream --redis HOST:PORT --format events|batches --clicks N --codes K
//            [--zipf S] [--clicks-per-flush R] [--keys-per-entry 250] [--seed 1]
// Appends the clicks to the "clicks" stream and prints one JSON line: entries, keys, clicks, seconds.
if (args.Length == 0 || args[0] != "fill-stream")
{
    Console.Error.WriteLine("usage: Shortener.Bench fill-stream --redis HOST:PORT --format events|batches --clicks N --codes K [--zipf S] [--clicks-per-flush R] [--keys-per-entry N] [--seed N]");
    return 2;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"unexpected argument {args[i]}"); return 2; }
    options[args[i][2..]] = args[i + 1];
}
string Required(string name) => options.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is required");
long Number(string name, long fallback) => options.TryGetValue(name, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

var format = Required("format");
var clicks = Number("clicks", -1);
var codes = (int)Number("codes", -1);
var zipf = options.TryGetValue("zipf", out var z) ? double.Parse(z, CultureInfo.InvariantCulture) : 0.0;
var seed = (int)Number("seed", 1);
if (clicks < 1 || codes < 1) { Console.Error.WriteLine("--clicks and --codes must be positive"); return 2; }
var popularity = new CodePopularity(codes, zipf);

await using var redis = await ConnectionMultiplexer.ConnectAsync(Required("redis"));
var db = redis.GetDatabase();
var started = Stopwatch.StartNew();
long entries = 0, keys = 0, written = 0;
var inFlight = new List<Task>(4096);

async Task Add(NameValueEntry[] fields)
{
    inFlight.Add(db.StreamAddAsync(ClickStream.Key, fields));
    if (inFlight.Count == inFlight.Capacity)
    {
        await Task.WhenAll(inFlight);
        inFlight.Clear();
    }
}

switch (format)
{
    case "events":
        foreach (var click in StreamFill.Events(clicks, popularity, DateTimeOffset.UtcNow, seed))
        {
            await Add(click.ToStreamFields());
            entries++;
            keys++;
            written++;
        }
        break;
    case "batches":
        var perFlush = (int)Number("clicks-per-flush", 25_000);
        var perEntry = (int)Number("keys-per-entry", 250);
        foreach (var batch in StreamFill.Batches(clicks, perFlush, perEntry, popularity, DateOnly.FromDateTime(DateTime.UtcNow), seed))
        {
            await Add(batch.ToStreamFields());
            entries++;
            keys += batch.Counts.Count;
            written += batch.TotalClicks;
        }
        break;
    default:
        Console.Error.WriteLine($"--format must be events or batches, not {format}");
        return 2;
}
await Task.WhenAll(inFlight);
Console.WriteLine(JsonSerializer.Serialize(new { format, entries, keys, clicks = written, codes, zipf, seconds = Math.Round(started.Elapsed.TotalSeconds, 1) }));
return 0;
