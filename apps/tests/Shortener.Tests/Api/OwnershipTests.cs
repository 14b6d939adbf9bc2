using System.Net;
using System.Net.Http.Json;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

/// <summary>Links belong to the owner of the key that created them: other owners cannot see, change, delete or count them.</summary>
public sealed class OwnershipTests(ApiFixture fixture) : IClassFixture<ApiFixture>
{
    private readonly HttpClient _admin = fixture.Api.Client();

    private async Task<HttpClient> KeyForAsync(string owner)
    {
        var created = await (await _admin.PostAsJsonAsync("/api/keys", new { name = $"{owner}-{Guid.NewGuid():N}"[..30], owner })).ReadJsonAsync();
        return fixture.Api.Client(created.GetProperty("key").GetString());
    }

    private static async Task<string> CreateAsync(HttpClient client)
    {
        var response = await client.CreateLinkAsync(new { url = "https://example.com/owned" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.ReadJsonAsync()).GetProperty("code").GetString()!;
    }

    [Fact]
    public async Task AnotherOwnersLinkIsNotFoundOnEveryManagementEndpoint()
    {
        var alice = await KeyForAsync("alice-" + Guid.NewGuid().ToString("N")[..6]);
        var bob = await KeyForAsync("bob-" + Guid.NewGuid().ToString("N")[..6]);
        var code = await CreateAsync(alice);

        // 404, not 403: a stranger cannot even learn that the code exists.
        await (await bob.GetAsync($"/api/links/{code}")).AssertProblemAsync(404);
        await (await bob.GetAsync($"/api/links/{code}/stats")).AssertProblemAsync(404);
        await (await bob.PatchAsJsonAsync($"/api/links/{code}", new { url = "https://evil.example/" })).AssertProblemAsync(404);
        await (await bob.DeleteAsync($"/api/links/{code}")).AssertProblemAsync(404);
        var bobsList = await (await bob.GetAsync("/api/links?limit=100")).ReadJsonAsync();
        Assert.DoesNotContain(bobsList.GetProperty("items").EnumerateArray(), item => item.GetProperty("code").GetString() == code);

        // The link is untouched, and the redirect (public) still works.
        var mine = await (await alice.GetAsync($"/api/links/{code}")).ReadJsonAsync();
        Assert.Equal("https://example.com/owned", mine.GetProperty("url").GetString());
        Assert.Equal(HttpStatusCode.Found, (await alice.GetAsync("/" + code)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/links/{code}/stats")).StatusCode);
    }

    [Fact]
    public async Task AKeyListsOnlyItsOwnersLinksAndAnAdminListsAll()
    {
        var owner = "carol-" + Guid.NewGuid().ToString("N")[..6];
        var carol = await KeyForAsync(owner);
        var dave = await KeyForAsync("dave-" + Guid.NewGuid().ToString("N")[..6]);
        var carols = new[] { await CreateAsync(carol), await CreateAsync(carol) };
        var daves = await CreateAsync(dave);

        var listed = (await (await carol.GetAsync("/api/links?limit=100")).ReadJsonAsync()).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(carols.Reverse(), listed.Select(item => item.GetProperty("code").GetString()));
        Assert.All(listed, item => Assert.Equal(owner, item.GetProperty("owner").GetString()));

        var all = new List<string>();
        string? cursor = null;
        do
        {
            var page = await (await _admin.GetAsync("/api/links?limit=100" + (cursor is null ? "" : "&cursor=" + cursor))).ReadJsonAsync();
            all.AddRange(page.GetProperty("items").EnumerateArray().Select(item => item.GetProperty("code").GetString()!));
            cursor = page.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);
        Assert.Contains(daves, all);
        Assert.All(carols, code => Assert.Contains(code, all));
    }

    [Fact]
    public async Task AnAdminCanReadChangeAndDeleteAnyLink()
    {
        var erin = await KeyForAsync("erin-" + Guid.NewGuid().ToString("N")[..6]);
        var code = await CreateAsync(erin);
        Assert.Equal(HttpStatusCode.OK, (await _admin.GetAsync($"/api/links/{code}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PatchAsJsonAsync($"/api/links/{code}", new { url = "https://example.org/moved" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/links/{code}")).StatusCode);
        await (await erin.GetAsync("/" + code)).AssertProblemAsync(410);
    }

    [Fact]
    public async Task ARotatedKeyForTheSameOwnerKeepsTheOwnersLinks()
    {
        var owner = "frank-" + Guid.NewGuid().ToString("N")[..6];
        var old = await KeyForAsync(owner);
        var code = await CreateAsync(old);
        var renewed = await KeyForAsync(owner);
        Assert.Equal(HttpStatusCode.OK, (await renewed.GetAsync($"/api/links/{code}")).StatusCode);
    }

    [Fact]
    public async Task AnEditChangesWhereTheLinkRedirects()
    {
        var code = await CreateAsync(_admin);
        Assert.Equal("https://example.com/owned", (await _admin.GetAsync("/" + code)).Headers.Location?.OriginalString);

        var edited = await (await _admin.PatchAsJsonAsync($"/api/links/{code}", new { url = "https://example.org/new", permanent = true })).ReadJsonAsync();
        Assert.Equal("https://example.org/new", edited.GetProperty("url").GetString());

        var redirect = await _admin.GetAsync("/" + code);
        Assert.Equal(HttpStatusCode.MovedPermanently, redirect.StatusCode);
        Assert.Equal("https://example.org/new", redirect.Headers.Location?.OriginalString);
        await (await _admin.PatchAsJsonAsync($"/api/links/{code}", new { url = "javascript:alert(1)" })).AssertProblemAsync(400);
        await (await _admin.PatchAsJsonAsync("/api/links/no-such-code", new { url = "https://example.org/" })).AssertProblemAsync(404);
    }

    [Fact]
    public async Task AdminsListKeysWithTheirOwnersButNeverTheKeys()
    {
        var owner = "gina-" + Guid.NewGuid().ToString("N")[..6];
        await KeyForAsync(owner);
        var keys = await (await _admin.GetAsync("/api/keys")).ReadJsonAsync();
        var gina = keys.EnumerateArray().Single(k => k.GetProperty("owner").GetString() == owner);
        Assert.False(gina.TryGetProperty("key", out _));
        Assert.False(gina.GetProperty("admin").GetBoolean());
        await (await (await KeyForAsync(owner + "x")).GetAsync("/api/keys")).AssertProblemAsync(403);
    }
}
