using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Shortener.Tests.Resilience;

/// <summary>One request of the load: when it started and ended on the generator's clock, and what came back.</summary>
public sealed record Sample(string Kind, string Path, TimeSpan Start, TimeSpan End, int Status, string? Error,
    string? RetryAfter, string? MediaType, string? Body)
{
    public TimeSpan Latency => End - Start;

    /// <summary>No HTTP response at all: connection refused or reset, or the client's own timeout.</summary>
    public bool Failed => Error is not null;

    public bool StartedIn(TimeSpan from, TimeSpan to) => Start >= from && Start < to;

    /// <summary>Started and ended inside the window: the whole request saw the situation of that window.</summary>
    public bool Within(TimeSpan from, TimeSpan to) => Start >= from && End <= to;
}

/// <summary>
/// Steady load for the resilience tests: a few closed loops per kind of request, each with its own
/// HttpClient (its own keep-alive connection, like separate clients), recording status, latency and
/// timestamps of every request. Requests are never cancelled by the generator: stopping waits for the
/// requests in flight, so a request that hangs shows up as a huge latency instead of disappearing.
/// </summary>
public sealed class LoadGenerator(Uri baseAddress) : IAsyncDisposable
{
    /// <summary>The clients' own timeout: far above every bound the tests assert, so it never hides a slow answer.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(20);

    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ConcurrentQueue<Sample> _samples = new();
    private readonly List<Task> _loops = [];
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The generator's clock: sample times and the test's own event marks share it.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<Sample> Samples => [.. _samples];

    /// <summary>
    /// Starts <paramref name="loops"/> loops sending <paramref name="request"/>(n), n counting up across the
    /// loops of this kind, with <paramref name="pause"/> between requests (none: as fast as answers come).
    /// </summary>
    public void Add(string kind, int loops, Func<int, HttpRequestMessage> request, TimeSpan? pause = null)
    {
        int[] counter = [-1];
        for (var i = 0; i < loops; i++)
        {
            _loops.Add(Task.Run(() => RunAsync(kind, counter, request, pause ?? TimeSpan.Zero)));
        }
    }

    /// <summary>
    /// Open loop: <paramref name="perSecond"/> requests a second whatever the answers take, each on its own
    /// (the client opens as many connections as needed). Unlike closed loops, a server that lets requests wait
    /// without bound sees its queue, and so its latencies, grow for as long as it is slow.
    /// </summary>
    public void AddPaced(string kind, double perSecond, Func<int, HttpRequestMessage> request)
    {
        _loops.Add(Task.Run(async () =>
        {
            using var client = NewClient();
            var inFlight = new List<Task>();
            var interval = TimeSpan.FromSeconds(1 / perSecond);
            var next = Now;
            for (var n = 0; !_stop.IsCancellationRequested; n++)
            {
                var message = request(n);
                inFlight.Add(SendAsync(client, kind, message, disposeMessage: true));
                if (inFlight.Count > 1000) inFlight.RemoveAll(t => t.IsCompleted);
                next += interval;
                var wait = next - Now;
                if (wait > TimeSpan.Zero) await Task.Delay(wait);
            }
            await Task.WhenAll(inFlight);
        }));
    }

    private HttpClient NewClient() => new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        BaseAddress = baseAddress,
        Timeout = ClientTimeout,
    };

    private async Task RunAsync(string kind, int[] counter, Func<int, HttpRequestMessage> request, TimeSpan pause)
    {
        using var client = NewClient();
        while (!_stop.IsCancellationRequested)
        {
            using var message = request(Interlocked.Increment(ref counter[0]));
            if (!await SendAsync(client, kind, message, disposeMessage: false))
            {
                // A server that refuses connections answers at once: do not spin.
                await Task.Delay(10);
            }
            if (pause > TimeSpan.Zero) await Task.Delay(pause);
        }
    }

    /// <summary>Sends one request and records it; false when no HTTP response came back.</summary>
    private async Task<bool> SendAsync(HttpClient client, string kind, HttpRequestMessage message, bool disposeMessage)
    {
        var path = message.RequestUri!.OriginalString;
        var start = Now;
        try
        {
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseContentRead);
            var status = (int)response.StatusCode;
            var body = status >= 400 ? await response.Content.ReadAsStringAsync() : null;
            _samples.Enqueue(new Sample(kind, path, start, Now, status, null,
                response.Headers.TryGetValues("Retry-After", out var retry) ? string.Join(",", retry) : null,
                response.Content.Headers.ContentType?.MediaType, body));
            return true;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            _samples.Enqueue(new Sample(kind, path, start, Now, 0, Describe(ex), null, null, null));
            return false;
        }
        finally
        {
            if (disposeMessage) message.Dispose();
        }
    }

    private static string Describe(Exception ex)
    {
        if (ex is TaskCanceledException) return "client timeout";
        var socket = ex.InnerException as SocketException ?? ex.InnerException?.InnerException as SocketException;
        var detail = ex is HttpRequestException { HttpRequestError: var error } ? error.ToString() : ex.GetType().Name;
        return socket is null ? detail : $"{detail} ({socket.SocketErrorCode})";
    }

    /// <summary>Stops every loop after its request in flight has been answered.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested) await StopAsync();
        _stop.Dispose();
    }

    /// <summary>Counts per status (0: no response), max and p99 latency, per kind, for the test output.</summary>
    public static string Summary(IEnumerable<Sample> samples)
    {
        var text = new StringBuilder();
        foreach (var kind in samples.GroupBy(s => s.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var latencies = kind.Select(s => s.Latency.TotalMilliseconds).Order().ToArray();
            var statuses = string.Join(", ", kind.GroupBy(s => s.Failed ? s.Error! : s.Status.ToString(CultureInfo.InvariantCulture))
                .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}: {g.Count()}"));
            text.Append(CultureInfo.InvariantCulture,
                $"  {kind.Key,-10} n={latencies.Length,6}  p50={Percentile(latencies, 0.50),7:F1} ms  p99={Percentile(latencies, 0.99),7:F1} ms  max={latencies[^1],7:F1} ms  [{statuses}]\n");
        }
        return text.ToString();
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}
