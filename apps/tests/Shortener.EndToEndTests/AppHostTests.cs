using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Shortener.EndToEndTests;

/// <summary>One local stack for the classes that walk the product (it takes a minute to start).</summary>
[CollectionDefinition(Name)]
public sealed class LocalStackCollection : ICollectionFixture<LocalStack>
{
    public const string Name = "local stack";
}

/// <summary>The real AppHost, as `make run` starts it, on throwaway data and free ports.</summary>
public sealed class LocalStack : IAsyncLifetime
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(3);
    private DistributedApplication? _app;

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "shortener-e2e", Guid.NewGuid().ToString("N"));
    public int ApiPort { get; } = TestPorts.Next();
    public int ConsolePort { get; } = TestPorts.Next();
    public string Key { get; private set; } = "";

    /// <summary>
    /// The Aspire dashboard, only for `make screenshots` (SCREENSHOTS_DIR set): its picture of a redirect's trace
    /// goes into the README. Tests do not need it, and the testing builder runs without it by default.
    /// </summary>
    public string? DashboardUrl { get; } =
        Environment.GetEnvironmentVariable("SCREENSHOTS_DIR") is null ? null : $"http://127.0.0.1:{TestPorts.Next()}";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataDir);
        File.SetUnixFileMode(Path.GetDirectoryName(DataDir)!, (UnixFileMode)0b111_101_101);
        string[] dashboard = DashboardUrl is null ? [] :
        [
            $"ASPNETCORE_URLS={DashboardUrl}",
            $"ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://127.0.0.1:{TestPorts.Next()}",
            $"ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://127.0.0.1:{TestPorts.Next()}",
            "ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
            // Loopback, throwaway, for a picture: no login token to scrape from the logs.
            "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true",
            // The testing builder otherwise moves proxied endpoints (the dashboard's) to random ports.
            "DcpPublisher:RandomizePorts=false",
        ];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Shortener_AppHost>(
        [
            .. dashboard,
            $"Local:DataDir={DataDir}",
            $"Local:PostgresPort={TestPorts.Next()}",
            $"Local:RedisPort={TestPorts.Next()}",
            $"Local:ApiPort={ApiPort}",
            $"Local:WorkerPort={TestPorts.Next()}",
            $"Local:ConsolePort={ConsolePort}",
            // The observability stack is checked by the game day and MakeRunTests.
            "Local:Observability=false",
        ], (options, _) => options.DisableDashboard = DashboardUrl is null);
        _app = await builder.BuildAsync();
        using var cts = new CancellationTokenSource(s_startTimeout);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceAsync("migrator", KnownResourceStates.Finished, cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("api", cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("worker", cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("console", cts.Token);
        Key = (await File.ReadAllTextAsync(Path.Combine(DataDir, "bootstrap-api-key"))).Trim();

        // The bootstrap key is stored by the API in the background right after start.
        using var client = Client();
        for (var attempt = 0; attempt < 50 && !(await client.GetAsync("/api/links?limit=1")).IsSuccessStatusCode; attempt++)
        {
            await Task.Delay(200);
        }
    }

    public HttpClient Client()
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort, under the temp dir: PostgreSQL's files belong to the postgres user when run as root.
        }
    }
}

/// <summary>Walks the product on the local stack, and runs the README's examples exactly as written.</summary>
[Collection(LocalStackCollection.Name)]
public sealed class AppHostTests(LocalStack stack)
{
    [Fact]
    public async Task ACreatedLinkRedirectsAndItsClickShowsUpInTheStats()
    {
        using var client = stack.Client();
        var created = await client.PostAsJsonAsync("/api/links", new { url = "https://example.com/e2e" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var code = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();

        var redirect = await client.GetAsync($"/{code}");
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal("https://example.com/e2e", redirect.Headers.Location?.OriginalString);

        long total = 0;
        for (var attempt = 0; attempt < 100 && total == 0; attempt++)
        {
            await Task.Delay(200);
            total = (await client.GetFromJsonAsync<JsonElement>($"/api/links/{code}/stats")).GetProperty("totalClicks").GetInt64();
        }
        Assert.Equal(1, total);

        var version = await client.GetFromJsonAsync<JsonElement>("/version");
        Assert.NotEqual("unknown", version.GetProperty("gitSha").GetString());
    }

    /// <summary>
    /// Every README block with `# →` lines: each command runs in bash (after the block's variable
    /// assignments) from a directory whose .data is this stack's, with the API's port in place of 8080;
    /// its output (curl -si: status line, headers, body) must hold the status and every "..."-separated fragment.
    /// </summary>
    [Fact]
    public async Task TheReadmeExamplesRunAsWritten()
    {
        var steps = ReadmeExamples.Parse(await File.ReadAllTextAsync(Path.Combine(MakeRunTests.RepoRoot, "README.md")));
        Assert.True(steps.Count >= 8, $"only {steps.Count} annotated README commands found");
        var workDir = Directory.CreateTempSubdirectory("shortener-readme-").FullName;
        Directory.CreateSymbolicLink(Path.Combine(workDir, ".data"), stack.DataDir);
        try
        {
            foreach (var step in steps)
            {
                string Local(string text) => text.Replace("127.0.0.1:8080", $"127.0.0.1:{stack.ApiPort}", StringComparison.Ordinal);
                var script = Local(string.Join('\n', step.Setup.Append(step.Command)));
                var expected = step with { Fragments = [.. step.Fragments.Select(Local)] };
                var output = await BashAsync(script, workDir);
                // Counting is asynchronous (the worker): a read may need a moment to become true. Writes run once.
                var isRead = !step.Command.Contains(" -d ", StringComparison.Ordinal) && !step.Command.Contains(" -X ", StringComparison.Ordinal);
                for (var attempt = 0; isRead && attempt < 30 && !expected.IsMetBy(output); attempt++)
                {
                    await Task.Delay(500);
                    output = await BashAsync(script, workDir);
                }
                Assert.True(expected.IsMetBy(output), $"README: `{step.Command}`\nexpected {step.Expectation}\ngot:\n{output}");
            }
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }
    }

    private static async Task<string> BashAsync(string script, string directory)
    {
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-euo", "pipefail", "-c", script])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync();
        return await stdout + await stderr;
    }
}

/// <summary>The README's annotated examples: a command, then `# → STATUS ... fragment ... fragment`.</summary>
public static partial class ReadmeExamples
{
    public sealed record Example(IReadOnlyList<string> Setup, string Command, string Expectation, int Status, IReadOnlyList<string> Fragments)
    {
        public bool IsMetBy(string output) =>
            Regex.IsMatch(output, $@"^HTTP/[\d.]+ {Status}\b", RegexOptions.Multiline)
            && Fragments.All(f => output.Contains(f, StringComparison.OrdinalIgnoreCase));
    }

    public static List<Example> Parse(string readme)
    {
        var steps = new List<Example>();
        foreach (Match block in FencedBash().Matches(readme))
        {
            if (!block.Value.Contains("# →", StringComparison.Ordinal)) continue;
            var setup = new List<string>();
            var pending = new List<string>();
            foreach (var line in block.Groups[1].Value.Split('\n'))
            {
                var expectation = Expectation().Match(line);
                if (expectation.Success)
                {
                    var fragments = expectation.Groups[2].Value.Split("...", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                        .Select(f => TrailingComment().Replace(f, "")).Where(f => f.Length > 0).ToList();
                    steps.Add(new([.. setup], string.Join('\n', pending), line.Trim(), int.Parse(expectation.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), fragments));
                    pending.Clear();
                }
                else if (Assignment().IsMatch(line))
                {
                    setup.Add(line);
                }
                else if (line.Trim().Length > 0)
                {
                    pending.Add(line);
                }
            }
        }
        return steps;
    }

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex FencedBash();

    [GeneratedRegex(@"^# → (\d{3})\b(.*)$")]
    private static partial Regex Expectation();

    [GeneratedRegex(@"^[A-Z_]+=")]
    private static partial Regex Assignment();

    /// <summary>A note for the reader after the last fragment, in parentheses after two spaces or more.</summary>
    [GeneratedRegex(@"\s{2,}\(.*\)$")]
    private static partial Regex TrailingComment();
}
