extern alias worker;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Shortener.Tests.Infrastructure;
using Shortener.Tests.Worker;
using StackExchange.Redis;
using worker::Shortener.Worker;

namespace Shortener.Tests.Api;

/// <summary>
/// The stats' breakdowns by referrer host and browser family (through the real redirect, click stream and worker), their
/// top-10 + "(other)" rule, and searching the list with q.
/// </summary>
public sealed class LinkStatsAndSearchTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _admin = fixture.Api.Client();

    private async Task<HttpClient> OwnerClientAsync()
    {
        var owner = "search-" + Guid.NewGuid().ToString("N")[..8];
        var created = await (await _admin.PostAsJsonAsync("/api/keys", new { name = owner, owner })).ReadJsonAsync();
        return fixture.Api.Client(created.GetProperty("key").GetString());
    }

    private static async Task<string> CreateAsync(HttpClient client, string url, string? code = null)
    {
        var response = await client.CreateLinkAsync(code is null ? new { url } : new { url, code });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("code").GetString()!;
    }

    private static List<(string? Name, long Clicks)> Items(JsonElement stats, string array, string name) =>
        [.. stats.GetProperty(array).EnumerateArray().Select(item => (item.GetProperty(name).GetString(), item.GetProperty("clicks").GetInt64()))];

    // ---- breakdowns -------------------------------------------------------------------------

    [Fact]
    public async Task ClicksAreBrokenDownByReferrerHostAndBrowserThroughTheRedirectAndTheWorker()
    {
        var code = await CreateAsync(_admin, "https://example.com/breakdown");
        const string Chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        const string Edge = Chrome + " Edg/131.0";
        const string Firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        (string? Referer, string? UserAgent)[] clicks =
        [
            ("https://News.Example.org/a", Chrome), ("https://news.example.org/b?x=1", Chrome), ("http://news.example.org/", Chrome),
            ("https://news.example.org/c", Edge),
            ("https://blog.example.net/post", Firefox), ("https://blog.example.net/other", Firefox),
            (null, "curl/8.5.0"),
            ("not a url", null),
        ];
        var client = fixture.Api.Client(apiKey: null);
        foreach (var (referer, userAgent) in clicks)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/" + code);
            if (referer is not null) request.Headers.TryAddWithoutValidation("Referer", referer);
            if (userAgent is not null) request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            Assert.Equal(HttpStatusCode.Found, (await client.SendAsync(request)).StatusCode);
        }

        // The worker, in process, on this fixture's Redis and database: the API flushes within a second, the worker counts.
        await using var dataSource = NpgsqlDataSource.Create(fixture.Postgres);
        await using var redis = await ConnectionMultiplexer.ConnectAsync(fixture.Redis.ConnectionString);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var options = Microsoft.Extensions.Options.Options.Create(WorkerTestKit.FastOptions());
        using var aggregator = new ClickAggregator(redis, new ClickLedger(dataSource), options,
            new WorkerMetrics(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), new StreamLagMonitor(redis, options)),
            NullLogger<ClickAggregator>.Instance);
        await aggregator.StartAsync(CancellationToken.None);
        JsonElement stats = default;
        try
        {
            await LocalProcess.WaitUntilAsync(async () =>
            {
                stats = await (await _admin.GetAsync($"/api/links/{code}/stats?days=7")).ReadJsonAsync();
                return stats.GetProperty("totalClicks").GetInt64() >= clicks.Length;
            }, TimeSpan.FromSeconds(20), "the clicks to be counted");
        }
        finally
        {
            await aggregator.StopAsync(CancellationToken.None);
        }

        Assert.Equal(clicks.Length, stats.GetProperty("totalClicks").GetInt64());
        Assert.Equal(clicks.Length, stats.GetProperty("days").EnumerateArray().Sum(d => d.GetProperty("clicks").GetInt64()));
        // Hosts lowercased; no Referer and an unparsable one are both direct (null). Equal counts by name: direct first.
        Assert.Equal([("news.example.org", 4L), (null, 2L), ("blog.example.net", 2L)], Items(stats, "byReferrer", "referrer"));
        Assert.Equal([("chrome", 3L), ("firefox", 2L), ("curl", 1L), ("edge", 1L), ("none", 1L)], Items(stats, "byBrowser", "browser"));
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("byReferrer")[1].GetProperty("referrer").ValueKind);
    }

    private async Task InsertBySourceAsync(string code, params (int DaysAgo, string Referrer, string Browser, long Clicks)[] rows)
    {
        await using var connection = new NpgsqlConnection(fixture.Postgres);
        await connection.OpenAsync();
        foreach (var (daysAgo, referrer, browser, clicks) in rows)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO link_clicks_by_source (code, day, referrer_host, browser, clicks) VALUES (@code, @day, @referrer, @browser, @clicks)", connection);
            insert.Parameters.AddWithValue("code", code);
            insert.Parameters.AddWithValue("day", DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-daysAgo));
            insert.Parameters.AddWithValue("referrer", referrer);
            insert.Parameters.AddWithValue("browser", browser);
            insert.Parameters.AddWithValue("clicks", clicks);
            await insert.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task TheTopTenAreListedAndTheRestSummedIntoOtherOverTheWindowOnly()
    {
        var code = await CreateAsync(_admin, "https://example.com/top10");
        await InsertBySourceAsync(code,
            (0, "a.example", "chrome", 30), (1, "a.example", "chrome", 20), (0, "b.example", "chrome", 40), (0, "c.example", "chrome", 30),
            (0, "d.example", "chrome", 20), (0, "e.example", "chrome", 10), (0, "f.example", "chrome", 9), (0, "g.example", "chrome", 8),
            (0, "h.example", "chrome", 7),
            // Three tied at 6 across the 10th place: by name, x and y are in, z is not.
            (0, "z.example", "chrome", 6), (2, "y.example", "chrome", 6), (0, "x.example", "chrome", 6),
            (0, "", "chrome", 1),
            // Outside a 30-day window (today is day 1): counted with days=60 only.
            (30, "old.example", "chrome", 1000));

        var stats = await (await _admin.GetAsync($"/api/links/{code}/stats?days=30")).ReadJsonAsync();
        Assert.Equal(
            [("a.example", 50L), ("b.example", 40L), ("c.example", 30L), ("d.example", 20L), ("e.example", 10L), ("f.example", 9L),
             ("g.example", 8L), ("h.example", 7L), ("x.example", 6L), ("y.example", 6L), ("(other)", 7L)],
            Items(stats, "byReferrer", "referrer"));
        Assert.Equal([("chrome", 193L)], Items(stats, "byBrowser", "browser"));

        var wider = await (await _admin.GetAsync($"/api/links/{code}/stats?days=60")).ReadJsonAsync();
        var referrers = Items(wider, "byReferrer", "referrer");
        Assert.Equal(("old.example", 1000L), referrers[0]);
        Assert.Equal(("(other)", 13L), referrers[^1]);
        Assert.Equal(11, referrers.Count);

        // The window is UTC days: days=1 is today only.
        var today = await (await _admin.GetAsync($"/api/links/{code}/stats?days=1")).ReadJsonAsync();
        Assert.Equal([("b.example", 40L), ("a.example", 30L), ("c.example", 30L)], Items(today, "byReferrer", "referrer")[..3]);
    }

    [Fact]
    public async Task ExactlyTenItemsHaveNoOtherAndElevenHaveOne()
    {
        var code = await CreateAsync(_admin, "https://example.com/ten");
        string[] families = ["bot", "edge", "opera", "firefox", "chrome", "safari", "curl", "wget", "script", "none"];
        await InsertBySourceAsync(code, [.. families.Select((family, i) => (0, "", family, (long)(i + 1)))]);

        var ten = Items(await (await _admin.GetAsync($"/api/links/{code}/stats")).ReadJsonAsync(), "byBrowser", "browser");
        Assert.Equal(10, ten.Count);
        Assert.DoesNotContain(ten, item => item.Name == "(other)");
        Assert.Equal(("none", 10L), ten[0]);

        await InsertBySourceAsync(code, (1, "", "other", 1));
        var eleven = Items(await (await _admin.GetAsync($"/api/links/{code}/stats")).ReadJsonAsync(), "byBrowser", "browser");
        Assert.Equal(11, eleven.Count);
        // "bot" (1) and "other" (1) tie for 10th: "bot" sorts first, "other" is the rest.
        Assert.Equal([("bot", 1L), ("(other)", 1L)], eleven[^2..]);
    }

    [Fact]
    public async Task ALinkWithoutClicksHasEmptyBreakdowns()
    {
        var code = await CreateAsync(_admin, "https://example.com/none");
        var stats = await (await _admin.GetAsync($"/api/links/{code}/stats")).ReadJsonAsync();
        Assert.Equal(0, stats.GetProperty("totalClicks").GetInt64());
        Assert.Equal(0, stats.GetProperty("byReferrer").GetArrayLength());
        Assert.Equal(0, stats.GetProperty("byBrowser").GetArrayLength());
    }

    [Fact]
    public async Task TheStatsBodyHasTheShapeTheReadmeAndTheConsoleUse()
    {
        // The README's example (a curl click, no Referer) as raw JSON: field names, order and the null are the contract.
        var code = await CreateAsync(_admin, "https://example.com/shape");
        await InsertBySourceAsync(code, (0, "", "curl", 1));
        var body = await (await _admin.GetAsync($"/api/links/{code}/stats")).Content.ReadAsStringAsync();
        Assert.StartsWith($"{{\"code\":\"{code}\",\"totalClicks\":0,\"days\":[],", body);
        Assert.EndsWith("\"byReferrer\":[{\"referrer\":null,\"clicks\":1}],\"byBrowser\":[{\"browser\":\"curl\",\"clicks\":1}]}", body);

        // And the OpenAPI document describes both arrays and the list's q.
        var openApi = await (await _admin.GetAsync("/openapi/v1.json")).Content.ReadAsStringAsync();
        foreach (var name in new[] { "\"byReferrer\"", "\"byBrowser\"", "\"referrer\"", "\"browser\"", "\"name\": \"q\"" })
        {
            Assert.Contains(name, openApi);
        }
    }

    // ---- search ---------------------------------------------------------------------------

    private static async Task<List<string>> SearchAsync(HttpClient client, string q, int limit = 100)
    {
        var codes = new List<string>();
        string? cursor = null;
        do
        {
            var response = await client.GetAsync($"/api/links?limit={limit}&q={Uri.EscapeDataString(q)}" + (cursor is null ? "" : "&cursor=" + cursor));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = await response.ReadJsonAsync();
            codes.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        return codes;
    }

    [Fact]
    public async Task SearchMatchesACodePrefixExactlyOrTheUrlCaseInsensitivelyWithWildcardsAsLiterals()
    {
        var client = await OwnerClientAsync();
        var p = "s" + Guid.NewGuid().ToString("N")[..6];
        var alpha = await CreateAsync(client, "https://example.com/plain", $"{p}Alpha");
        var beta = await CreateAsync(client, "https://shop.example.org/Sale/Item_1", $"{p}beta");
        var percent = await CreateAsync(client, "https://example.net/100%25-off", $"x{p}");
        var underscoreLookalike = await CreateAsync(client, "https://example.net/ItemX1", $"y{p}");
        var backslashFree = await CreateAsync(client, "https://example.edu/path", $"z{p}");
        // Another owner's matching link is never found.
        await CreateAsync(_admin, $"https://example.com/{p}Alpha", $"{p}Alpha-admin");

        Assert.Equal([beta, alpha], await SearchAsync(client, p));
        Assert.Equal([alpha], await SearchAsync(client, $"{p}Al"));
        Assert.Empty(await SearchAsync(client, $"{p}al"));              // the code prefix is case-sensitive
        Assert.Equal([beta], await SearchAsync(client, "sALE/iTEM"));      // the URL is not
        Assert.Equal([percent], await SearchAsync(client, "%"));           // not "everything"
        Assert.Equal([beta], await SearchAsync(client, "Item_1"));         // not ItemX1
        Assert.Empty(await SearchAsync(client, "\\"));                   // no URL has a backslash
        Assert.Equal([beta], await SearchAsync(client, "_"));              // the only URL with an underscore
        Assert.Equal([backslashFree, underscoreLookalike, percent, beta, alpha], await SearchAsync(client, "https://"));
        // The admin sees every owner's matches.
        Assert.Contains($"{p}Alpha-admin", await SearchAsync(_admin, $"{p}Alpha"));
    }

    [Fact]
    public async Task SearchPagesThroughAFilteredResultWithTheCursor()
    {
        var client = await OwnerClientAsync();
        var token = "tok" + Guid.NewGuid().ToString("N")[..8];
        var matching = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            matching.Add(await CreateAsync(client, $"https://example.com/{token.ToUpperInvariant()}/{i}"));
            await CreateAsync(client, $"https://example.com/unrelated/{i}");
        }

        // Pages of 3 over 7 matches among 14 links: 3 + 3 + 1, newest first, nothing twice, nothing missing.
        var pages = 0;
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await (await client.GetAsync($"/api/links?limit=3&q={token}" + (cursor is null ? "" : "&cursor=" + cursor))).ReadJsonAsync();
            var items = page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!).ToList();
            Assert.InRange(items.Count, 1, 3);
            seen.AddRange(items);
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(Enumerable.Reverse(matching), seen);
    }

    [Theory]
    [InlineData("q=")]
    [InlineData("q=%00")]
    [InlineData("q=a%0Ab")]
    [InlineData("q=%7F")]
    public async Task ABadQueryIsA400ValidationProblem(string query)
    {
        var problem = await (await _admin.GetAsync("/api/links?" + query)).AssertProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("q", out _));
    }

    [Fact]
    public async Task AQueryOf100CharactersIsAcceptedAnd101IsNot()
    {
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync("/api/links?q=" + new string('q', 100))).StatusCode);
        var problem = await (await _admin.GetAsync("/api/links?q=" + new string('q', 101))).AssertProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("q", out _));
    }
}
