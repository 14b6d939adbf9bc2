using System.Net;
using System.Net.Http.Json;
using Npgsql;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

public sealed class LinksApiTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _client = fixture.Api.Client();

    [Fact]
    public async Task CreatingALinkReturns201WithItsShortUrl()
    {
        var response = await _client.CreateLinkAsync(new { url = "https://example.com/docs?q=1" });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = await response.ReadJsonAsync();
        var code = link.GetProperty("code").GetString()!;
        Assert.Matches("^[A-Za-z0-9]{8}$", code);
        Assert.Equal("https://example.com/docs?q=1", link.GetProperty("url").GetString());
        Assert.EndsWith("/" + code, link.GetProperty("shortUrl").GetString());
        Assert.Equal($"/api/links/{code}", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task GeneratedCodesAreDistinct()
    {
        var codes = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var link = await (await _client.CreateLinkAsync(new { url = "https://example.com/" + i })).ReadJsonAsync();
            Assert.True(codes.Add(link.GetProperty("code").GetString()!));
        }
    }

    [Fact]
    public async Task ACustomCodeIsKeptAndADuplicateReturns409()
    {
        var code = "docs-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.Created, (await _client.CreateLinkAsync(new { url = "https://example.com", code })).StatusCode);

        var again = await _client.CreateLinkAsync(new { url = "https://example.org", code });
        await again.AssertProblemAsync(409);

        var stored = await (await _client.GetAsync($"/api/links/{code}")).ReadJsonAsync();
        Assert.Equal("https://example.com/", stored.GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("slash/inside")]
    [InlineData("dots..")]
    [InlineData("ünicode")]
    [InlineData("api")]
    [InlineData("HEALTHZ")]
    [InlineData("metrics")]
    public async Task InvalidOrReservedCodesAreRefusedWith400(string code)
    {
        var response = await _client.CreateLinkAsync(new { url = "https://example.com", code });
        var problem = await response.AssertProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("code", out _));
    }

    [Fact]
    public async Task ACodeOf64CharactersIsAcceptedAnd65IsNot()
    {
        Assert.Equal(HttpStatusCode.Created, (await _client.CreateLinkAsync(new { url = "https://example.com", code = new string('x', 63) + "1" })).StatusCode);
        await (await _client.CreateLinkAsync(new { url = "https://example.com", code = new string('x', 65) })).AssertProblemAsync(400);
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.com")]
    [InlineData("/relative/path")]
    [InlineData("javascript:alert(1)")]
    [InlineData("data:text/html,<script>alert(1)</script>")]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://example.com/file")]
    [InlineData("https://user:secret@example.com/")]
    [InlineData("http://exa mple.com")]
    [InlineData("https://example.com/\r\nSet-Cookie: x=1")]
    public async Task UrlsThatAreNotAbsoluteHttpAreRefusedWith400(string url)
    {
        var problem = await (await _client.CreateLinkAsync(new { url })).AssertProblemAsync(400);
        Assert.True(problem.GetProperty("errors").TryGetProperty("url", out _));
    }

    [Fact]
    public async Task UrlsLongerThan2048CharactersAreRefused()
    {
        var url = "https://example.com/" + new string('a', 2048);
        await (await _client.CreateLinkAsync(new { url })).AssertProblemAsync(400);
    }

    [Fact]
    public async Task InternationalUrlsAreStoredInAsciiForm()
    {
        var link = await (await _client.CreateLinkAsync(new { url = "https://bücher.example/straße?q=ü" })).ReadJsonAsync();
        Assert.Equal("https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC", link.GetProperty("url").GetString());
    }

    [Fact]
    public async Task AnExpiryInThePastIsRefused()
    {
        await (await _client.CreateLinkAsync(new { url = "https://example.com", expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) })).AssertProblemAsync(400);
    }

    [Fact]
    public async Task ManagementEndpointsRequireAValidApiKey()
    {
        var anonymous = fixture.Api.Client(apiKey: null);
        var response = await anonymous.GetAsync("/api/links");
        await response.AssertProblemAsync(401);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);

        await (await fixture.Api.Client("sk_wrong").GetAsync("/api/links")).AssertProblemAsync(401);
        await (await anonymous.PostAsJsonAsync("/api/links", new { url = "https://example.com" })).AssertProblemAsync(401);
    }

    [Fact]
    public async Task TheXApiKeyHeaderAuthenticatesToo()
    {
        var client = fixture.Api.Client(apiKey: null);
        client.DefaultRequestHeaders.Add("X-Api-Key", ApiFactory.BootstrapKey);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/links")).StatusCode);
    }

    [Fact]
    public async Task KeysAreStoredHashedAndNewKeysWorkUntilRevoked()
    {
        var created = await (await _client.PostAsJsonAsync("/api/keys", new { name = "ci-" + Guid.NewGuid().ToString("N")[..6] })).ReadJsonAsync();
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetInt64();

        var client = fixture.Api.Client(key);
        Assert.Equal(HttpStatusCode.Created, (await client.CreateLinkAsync(new { url = "https://example.com" })).StatusCode);
        // A non-admin key cannot create keys.
        await (await client.PostAsJsonAsync("/api/keys", new { name = "nope" })).AssertProblemAsync(403);

        await using (var connection = new NpgsqlConnection(fixture.Postgres))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT key_hash = sha256(convert_to(@key, 'UTF8')) FROM api_keys WHERE id = @id", connection);
            command.Parameters.AddWithValue("key", key);
            command.Parameters.AddWithValue("id", id);
            Assert.Equal(true, await command.ExecuteScalarAsync());
        }

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/keys/{id}")).StatusCode);
    }

    [Fact]
    public async Task ListingPagesThroughLiveLinksNewestFirstWithACursor()
    {
        var client = fixture.Api.Client();
        var codes = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            var code = $"page-{Guid.NewGuid():N}"[..20];
            codes.Add(code);
            await client.CreateLinkAsync(new { url = "https://example.com/" + i, code });
        }

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await (await client.GetAsync("/api/links?limit=3" + (cursor is null ? "" : "&cursor=" + cursor))).ReadJsonAsync();
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        var ours = seen.Where(codes.Contains).ToList();
        Assert.Equal(Enumerable.Reverse(codes), ours);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=101")]
    [InlineData("limit=abc")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=%00%01")]
    [InlineData("q=")]
    [InlineData("limit=5&q=%00")]
    public async Task BadPagingParametersAreRefusedWith400(string query)
    {
        await (await _client.GetAsync("/api/links?" + query)).AssertProblemAsync(400);
    }

    [Fact]
    public async Task DeletingALinkMakesItsRedirectGoneAndIsIdempotent()
    {
        var code = "del-" + Guid.NewGuid().ToString("N")[..8];
        await _client.CreateLinkAsync(new { url = "https://example.com", code });
        Assert.Equal(HttpStatusCode.Found, (await _client.GetAsync("/" + code)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/links/{code}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/api/links/{code}")).StatusCode);
        await (await _client.GetAsync("/" + code)).AssertProblemAsync(410);

        var stored = await (await _client.GetAsync($"/api/links/{code}")).ReadJsonAsync();
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, stored.GetProperty("deletedAt").ValueKind);
        // Codes are never reused.
        await (await _client.CreateLinkAsync(new { url = "https://example.org", code })).AssertProblemAsync(409);
    }

    [Fact]
    public async Task UnknownLinksAre404OnEveryEndpoint()
    {
        await (await _client.GetAsync("/api/links/nope-404")).AssertProblemAsync(404);
        await (await _client.DeleteAsync("/api/links/nope-404")).AssertProblemAsync(404);
        await (await _client.GetAsync("/api/links/nope-404/stats")).AssertProblemAsync(404);
        await (await _client.GetAsync("/nope-404")).AssertProblemAsync(404);
    }

    [Fact]
    public async Task RedirectsAre302OrPermanent301WithTheTargetAsLocation()
    {
        var temporary = await (await _client.CreateLinkAsync(new { url = "https://example.com/t" })).ReadJsonAsync();
        var permanent = await (await _client.CreateLinkAsync(new { url = "https://example.com/p", permanent = true })).ReadJsonAsync();

        var found = await _client.GetAsync("/" + temporary.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Found, found.StatusCode);
        Assert.Equal("https://example.com/t", found.Headers.Location?.OriginalString);

        var moved = await _client.GetAsync("/" + permanent.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.MovedPermanently, moved.StatusCode);
        Assert.Equal("https://example.com/p", moved.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task AnExpiredLinkAnswers410()
    {
        var code = "exp-" + Guid.NewGuid().ToString("N")[..8];
        await _client.CreateLinkAsync(new { url = "https://example.com", code, expiresAt = DateTimeOffset.UtcNow.AddSeconds(1.5) });
        Assert.Equal(HttpStatusCode.Found, (await _client.GetAsync("/" + code)).StatusCode);
        await Task.Delay(2000);
        var problem = await (await _client.GetAsync("/" + code)).AssertProblemAsync(410);
        Assert.Contains("expired", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task StatsValidateTheirWindow()
    {
        var code = (await (await _client.CreateLinkAsync(new { url = "https://example.com" })).ReadJsonAsync()).GetProperty("code").GetString();
        var stats = await (await _client.GetAsync($"/api/links/{code}/stats")).ReadJsonAsync();
        Assert.Equal(0, stats.GetProperty("totalClicks").GetInt64());
        await (await _client.GetAsync($"/api/links/{code}/stats?days=0")).AssertProblemAsync(400);
        await (await _client.GetAsync($"/api/links/{code}/stats?days=367")).AssertProblemAsync(400);
    }
}
