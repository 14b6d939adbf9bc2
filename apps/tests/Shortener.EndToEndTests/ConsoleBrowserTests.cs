using System.Diagnostics;
using System.Text.RegularExpressions;
using Deque.AxeCore.Commons;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Shortener.EndToEndTests;

/// <summary>
/// The web console in a real browser (Debian's Chromium, headless, driven by Playwright) against the local stack:
/// sign in, create, follow, count, delete; a wrong key; the create form by keyboard alone; admin key management;
/// no accessibility violation (axe-core) and no CSP violation on any page. Every page is saved as a screenshot
/// (test artifacts; `make screenshots` writes the README's pictures from the same run).
/// </summary>
[Collection(LocalStackCollection.Name)]
public sealed partial class ConsoleBrowserTests(LocalStack stack, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly string s_screenshots = Environment.GetEnvironmentVariable("SCREENSHOTS_DIR")
        ?? Path.Combine(AppContext.BaseDirectory, "screenshots");

    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;
    private readonly List<string> _cspViolations = [];

    private string Console => $"http://127.0.0.1:{stack.ConsolePort}";

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: apt-get install --no-install-recommends chromium (make test installs it as root)");
        Directory.CreateDirectory(s_screenshots);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Chromium,
            Headless = true,
            // This machine's network is closed: without these Chromium keeps trying Google's hosts.
            Args = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    private async Task<IPage> NewPageAsync()
    {
        var context = await _browser.NewContextAsync(new() { ViewportSize = new() { Width = 1100, Height = 800 }, Locale = "en-US" });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) _cspViolations.Add(message.Text);
        };
        return page;
    }

    private async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync(Console + "/signin");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    [Fact]
    public async Task ALinkIsCreatedFollowedCountedAndDeletedThroughTheConsole()
    {
        var started = Stopwatch.StartNew();
        var page = await NewPageAsync();

        // A signed-out visitor is sent to sign in; the page weighs little and is accessible.
        var scripts = 0L;
        page.Response += (_, response) =>
        {
            if (response.Request.ResourceType == "script" && response.Headers.TryGetValue("content-length", out var length)) scripts += long.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
        };
        var first = await page.GotoAsync(Console + "/links");
        Assert.EndsWith("/signin?returnUrl=%2Flinks", page.Url, StringComparison.Ordinal);
        var csp = first!.Headers["content-security-policy"];
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        output.WriteLine($"JavaScript on the first page: {scripts} bytes");
        Assert.InRange(scripts, 1, 100 * 1024);
        await AssertAccessibleAsync(page, "sign-in");
        await ShotAsync(page, "console-sign-in");

        await SignInAsync(page, stack.Key);
        await Expect(page).ToHaveURLAsync(new Regex("/links$"));
        Assert.Empty((await page.Context.CookiesAsync()).Where(cookie => !cookie.HttpOnly).Select(cookie => cookie.Name));

        // Create.
        await page.GetByLabel("Long URL").FillAsync("https://example.com/from-the-console");
        await page.GetByRole(AriaRole.Button, new() { Name = "Shorten" }).ClickAsync();
        var shortUrl = await page.Locator("#created-short-url").TextContentAsync();
        Assert.NotNull(shortUrl);
        var code = shortUrl![(shortUrl.LastIndexOf('/') + 1)..];
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = code, Exact = true })).ToBeVisibleAsync();
        await AssertAccessibleAsync(page, "links");
        await ShotAsync(page, "console-links");

        // Follow it as a browser coming from another site would: 302 to the target.
        var follow = await page.APIRequest.GetAsync(shortUrl, new()
        {
            MaxRedirects = 0,
            Headers = new Dictionary<string, string>
            {
                ["Referer"] = "https://news.example.org/some/post",
                ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
            },
        });
        Assert.Equal(302, follow.Status);
        Assert.Equal("https://example.com/from-the-console", follow.Headers["location"]);
        if (stack.DashboardUrl is { } dashboard) await DashboardShotAsync(dashboard);

        // The click shows up on the stats page within seconds (the API flushes each second, the worker counts).
        await page.GetByRole(AriaRole.Link, new() { Name = code, Exact = true }).ClickAsync();
        var counted = Stopwatch.StartNew();
        while (await page.Locator("#total-clicks").TextContentAsync() != "1")
        {
            Assert.True(counted.Elapsed < TimeSpan.FromSeconds(15), "the click did not show on the stats page within 15 s");
            await Task.Delay(500);
            await page.ReloadAsync();
        }
        output.WriteLine($"click visible on the stats page after {counted.Elapsed.TotalSeconds:0.0} s");
        await Expect(page.Locator("table.breakdown").First).ToContainTextAsync("news.example.org");
        await Expect(page.Locator("table.breakdown").Last).ToContainTextAsync("chrome");
        await AssertAccessibleAsync(page, "stats");
        await ShotAsync(page, "console-stats");

        // Delete: the short URL answers 410.
        await page.GetByRole(AriaRole.Button, new() { Name = $"Delete {code}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Deleted {code}");
        Assert.Equal(410, (await page.APIRequest.GetAsync(shortUrl, new() { MaxRedirects = 0 })).Status);

        Assert.Empty(_cspViolations);
        output.WriteLine($"walk: {started.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task AWrongKeyIsRefusedWithAMessage()
    {
        var page = await NewPageAsync();
        await SignInAsync(page, "sk_wrong_" + Guid.NewGuid().ToString("N"));
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not accepted");
        Assert.EndsWith("/signin", page.Url, StringComparison.Ordinal);
        await ShotAsync(page, "console-wrong-key");

        // Nothing behind the sign-in without a session.
        await page.GotoAsync(Console + "/keys");
        Assert.Contains("/signin", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCreateFormWorksWithTheKeyboardAlone()
    {
        var page = await NewPageAsync();
        await SignInAsync(page, stack.Key);
        await Expect(page).ToHaveURLAsync(new Regex("/links$"));

        // From the top of the page, Tab reaches the form's fields in order; Enter submits.
        await page.GotoAsync(Console + "/links");
        var first = await TabUntilAsync(page, "url", presses: 15);
        Assert.Equal("Skip to content", first);
        await page.Keyboard.TypeAsync("https://example.com/typed");
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("code", await FocusedIdAsync(page));
        var code = "kb-" + Guid.NewGuid().ToString("N")[..8];
        await page.Keyboard.TypeAsync(code);
        await TabUntilAsync(page, "permanent", presses: 10); // through the date-time field's parts
        await page.Keyboard.PressAsync("Space");
        Assert.True(await page.Locator("#permanent").IsCheckedAsync());
        await page.Keyboard.PressAsync("Tab");
        Assert.Equal("Shorten", (await page.EvaluateAsync<string>("document.activeElement.textContent")).Trim());
        await page.Keyboard.PressAsync("Enter");

        await Expect(page.Locator("#created-short-url")).ToHaveTextAsync(new Regex("/" + code + "$"));
        using var client = stack.Client();
        var redirect = await client.GetAsync("/" + code);
        Assert.Equal(System.Net.HttpStatusCode.MovedPermanently, redirect.StatusCode);
    }

    [Fact]
    public async Task AnAdminCreatesAndRevokesAKeyAndAUserKeySeesNoKeyManagement()
    {
        var page = await NewPageAsync();
        await SignInAsync(page, stack.Key);
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        var name = "console-" + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Name").FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var key = (await page.Locator("#new-key").TextContentAsync())!.Trim();
        Assert.StartsWith("sk_", key, StringComparison.Ordinal);
        await AssertAccessibleAsync(page, "keys");
        await ShotAsync(page, "console-keys");

        // The new (user) key signs in, sees its own (empty) list and no key management.
        var user = await NewPageAsync();
        await SignInAsync(user, key);
        await Expect(user.GetByRole(AriaRole.Heading, new() { Name = "Links", Exact = true })).ToBeVisibleAsync();
        await Expect(user.GetByText("No links yet")).ToBeVisibleAsync();
        Assert.Equal(0, await user.GetByRole(AriaRole.Link, new() { Name = "API keys" }).CountAsync());
        await user.GotoAsync(Console + "/keys");
        await Expect(user.GetByRole(AriaRole.Heading, new() { Name = "Not found" })).ToBeVisibleAsync();

        // Revoked: the user's next page ends its session.
        await page.GetByRole(AriaRole.Button, new() { Name = $"Revoke the key {name}" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Cell, new() { Name = name, Exact = true })).ToHaveCountAsync(0);
        await user.GotoAsync(Console + "/links");
        Assert.Contains("/signin", user.Url, StringComparison.Ordinal);
    }

    /// <summary>`make screenshots` only: the redirect's trace (API → cache → PostgreSQL) in the Aspire dashboard.</summary>
    private async Task DashboardShotAsync(string dashboard)
    {
        var page = await NewPageAsync();
        await page.SetViewportSizeAsync(1400, 800);
        await page.GotoAsync(dashboard + "/traces");
        // The list is live (the dashboard's own Blazor circuit): wait for the span, do not reload. Spans are
        // named by route template, so the redirect is "GET /{code}", the only one so far in this run.
        var row = page.GetByText("GET /{code}").First;
        await row.WaitForAsync(new() { Timeout = 60_000 });
        await row.ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await Task.Delay(2000);
        await ShotAsync(page, "dashboard-redirect-trace");
    }

    private static async Task<string?> FocusedIdAsync(IPage page) => await page.EvaluateAsync<string?>("document.activeElement?.id || null");

    /// <summary>Presses Tab until the element with <paramref name="id"/> has focus; returns the text of the first element focused.</summary>
    private static async Task<string?> TabUntilAsync(IPage page, string id, int presses)
    {
        string? first = null;
        for (var i = 0; i < presses; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            first ??= (await page.EvaluateAsync<string?>("document.activeElement?.textContent"))?.Trim();
            if (await FocusedIdAsync(page) == id) return first;
        }
        Assert.Fail($"#{id} not reached with {presses} presses of Tab");
        return null;
    }

    private async Task AssertAccessibleAsync(IPage page, string name)
    {
        AxeResult result = await page.RunAxe();
        var serious = result.Violations.Where(v => v.Impact is "serious" or "critical").ToList();
        Assert.True(serious.Count == 0, $"{name}: " + string.Join("\n", serious.Select(v => $"{v.Id} ({v.Impact}): {v.Help} at {string.Join(", ", v.Nodes.Select(n => n.Html))}")));
        foreach (var minor in result.Violations.Except(serious)) output.WriteLine($"{name}: axe {minor.Impact} {minor.Id}: {minor.Help}");
    }

    private static async Task ShotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(s_screenshots, name + ".png"), FullPage = true });

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private static IPageAssertions Expect(IPage page) => Assertions.Expect(page);
}
