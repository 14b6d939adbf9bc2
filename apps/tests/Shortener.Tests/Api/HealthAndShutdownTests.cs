using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Shortener.Contracts;
using Shortener.Tests.Infrastructure;
using StackExchange.Redis;

namespace Shortener.Tests.Api;

public sealed class HealthAndShutdownTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    [Fact]
    public async Task LivezReadyzHealthzAndVersionAnswer()
    {
        var client = fixture.Api.Client(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/livez")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        var health = await (await client.GetAsync("/healthz")).ReadJsonAsync();
        Assert.Equal("Healthy", health.GetProperty("status").GetString());
        foreach (var dependency in new[] { "postgresql", "redis", "draining" })
        {
            var check = health.GetProperty("checks").GetProperty(dependency);
            Assert.Equal("Healthy", check.GetProperty("status").GetString());
            Assert.True(check.GetProperty("durationMs").GetDouble() >= 0);
        }

        var version = await (await client.GetAsync("/version")).ReadJsonAsync();
        Assert.Matches(@"^\d+\.\d+\.\d+", version.GetProperty("version").GetString());
        Assert.False(string.IsNullOrEmpty(version.GetProperty("gitSha").GetString()));
        Assert.True(DateTimeOffset.TryParse(version.GetProperty("buildDate").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task TheOpenApiDocumentDescribesTheEndpoints()
    {
        var document = await (await fixture.Api.Client(apiKey: null).GetAsync("/openapi/v1.json")).ReadJsonAsync();
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/links", "/api/links/{code}", "/api/links/{code}/stats", "/{code}" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }
    }

    [Fact]
    public async Task OnSigtermTheApiTurnsUnreadyDrainsFinishesInFlightRequestsAndFlushesClicks()
    {
        var redis = fixture.Redis;
        await using var api = await ServiceProcess.StartAsync("Shortener.Api", new Dictionary<string, string>
        {
            ["ConnectionStrings__postgres"] = fixture.Postgres,
            ["ConnectionStrings__redis"] = redis.ConnectionString,
            ["Auth__BootstrapApiKey"] = ApiFactory.BootstrapKey,
            ["Shutdown__DrainDelay"] = "00:00:02",
            ["RateLimits__RedirectsPerSecond"] = "0",
            // No periodic flush before the process ends: the clicks can only reach the stream through the flush on SIGTERM.
            ["Clicks__FlushInterval"] = "01:00:00",
        });
        var client = api.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiFactory.BootstrapKey);
        var code = "drain-" + Guid.NewGuid().ToString("N")[..8];
        await LocalProcess.WaitUntilAsync(async () =>
            (await client.CreateLinkAsync(new { url = "https://example.com", code })).StatusCode == HttpStatusCode.Created,
            TimeSpan.FromSeconds(10), "the link to be created");

        // An in-flight request whose body is still arriving when SIGTERM comes.
        var body = new SlowBody(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { url = "https://example.com/inflight" })));
        using var slowContent = new StreamContent(body);
        slowContent.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var inFlight = client.PostAsync("/api/links", slowContent);
        await body.Started.Task;

        api.Signal(LocalProcess.SigTerm);
        await LocalProcess.WaitUntilAsync(async () => (await client.GetAsync("/readyz")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(1), "readiness to fail after SIGTERM");

        // While draining, traffic is still served and clicks still recorded.
        for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.Found, (await client.GetAsync("/" + code)).StatusCode);

        body.Finish();
        Assert.Equal(HttpStatusCode.Created, (await inFlight).StatusCode);

        await api.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, api.ExitCode);

        // Counted in memory and flushed at shutdown, after the server stopped: none lost.
        Assert.Equal(10, await ClickStreamReader.ClicksOfAsync((await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString)).GetDatabase(), code));
    }

    [Fact]
    public async Task ARedirectFloodGets429WithRetryAfterPerClientIp()
    {
        await using var limited = new ApiFactory(fixture.Postgres, fixture.Redis.ConnectionString,
            new Dictionary<string, string?> { ["RateLimits:RedirectsPerSecond"] = "5", ["RateLimits:RejectionDelay"] = "00:00:00" });
        var client = limited.Client(apiKey: null);
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 30; i++) statuses.Add(await client.GetAsync("/flood-code"));

        var rejected = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(rejected);
        Assert.True(rejected[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        await rejected[0].AssertProblemAsync(429);
    }

    [Fact]
    public async Task RejectionsAreHeldForTheTarpitDelayUpToTheirBound()
    {
        await using var limited = new ApiFactory(fixture.Postgres, fixture.Redis.ConnectionString,
            new Dictionary<string, string?> { ["RateLimits:RedirectsPerSecond"] = "1", ["RateLimits:RejectionDelay"] = "00:00:00.5" });
        var client = limited.Client(apiKey: null);
        // A burst of 2 is allowed; the next requests are over the limit and wait before their 429.
        for (var i = 0; i < 2; i++) await client.GetAsync("/tarpit-code");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var over = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.GetAsync("/tarpit-code")));
        Assert.Contains(over, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(450), $"429s came back after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.All(over.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests), r => Assert.NotNull(r.Headers.RetryAfter));

        // With no room left to hold them, rejections go out at once.
        await using var unheld = new ApiFactory(fixture.Postgres, fixture.Redis.ConnectionString, new Dictionary<string, string?>
        {
            ["RateLimits:RedirectsPerSecond"] = "1",
            ["RateLimits:RejectionDelay"] = "00:00:30",
            ["RateLimits:MaxDelayedRejections"] = "0",
        });
        var direct = unheld.Client(apiKey: null);
        for (var i = 0; i < 2; i++) await direct.GetAsync("/tarpit-code");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.TooManyRequests, (await direct.GetAsync("/tarpit-code", timeout.Token)).StatusCode);
    }

    [Fact]
    public async Task ManagementCallsAreLimitedPerApiKey()
    {
        await using var limited = new ApiFactory(fixture.Postgres, fixture.Redis.ConnectionString,
            new Dictionary<string, string?> { ["RateLimits:ManagementPerMinute"] = "5", ["RateLimits:RejectionDelay"] = "00:00:00" });
        var client = limited.Client();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++) statuses.Add((await client.GetAsync("/api/links?limit=1")).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(HttpStatusCode.OK, statuses[0]);
    }

    /// <summary>A request body that sends its first byte, then waits until told to finish.</summary>
    private sealed class SlowBody(byte[] content) : Stream
    {
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _position;
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Finish() => _finish.TrySetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == 1)
            {
                Started.TrySetResult();
                await _finish.Task.WaitAsync(cancellationToken);
            }
            if (_position >= content.Length) return 0;
            var count = _position == 0 ? 1 : Math.Min(buffer.Length, content.Length - _position);
            content.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => content.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
