using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace Shortener.EndToEndTests;

/// <summary>
/// Starts the real AppHost (as `make run` does, on throwaway data and free ports) and walks the product:
/// create a link, follow its redirect, see the click aggregated by the worker in the stats.
/// </summary>
public sealed class AppHostTests
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ACreatedLinkRedirectsAndItsClickShowsUpInTheStats()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "shortener-e2e", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        File.SetUnixFileMode(Path.GetDirectoryName(dataDir)!, (UnixFileMode)0b111_101_101);
        var apiPort = FreePort();
        try
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Shortener_AppHost>(
            [
                $"Local:DataDir={dataDir}",
                $"Local:PostgresPort={FreePort()}",
                $"Local:RedisPort={FreePort()}",
                $"Local:ApiPort={apiPort}",
                $"Local:WorkerPort={FreePort()}",
                // Prometheus and the exporters use fixed local ports; they have their own checks.
                "Local:Observability=false",
            ]);
            await using var app = await builder.BuildAsync();
            using var cts = new CancellationTokenSource(s_startTimeout);
            await app.StartAsync(cts.Token);
            await app.ResourceNotifications.WaitForResourceAsync("migrator", KnownResourceStates.Finished, cts.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("api", cts.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("worker", cts.Token);

            var key = (await File.ReadAllTextAsync(Path.Combine(dataDir, "bootstrap-api-key"))).Trim();
            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"),
            };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            // The bootstrap key is stored by the API in the background right after start.
            HttpResponseMessage created = null!;
            for (var attempt = 0; attempt < 50; attempt++)
            {
                created = await client.PostAsJsonAsync("/api/links", new { url = "https://example.com/e2e" });
                if (created.StatusCode != HttpStatusCode.Unauthorized) break;
                await Task.Delay(200);
            }
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var code = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();

            var redirect = await client.GetAsync($"/{code}");
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            Assert.Equal("https://example.com/e2e", redirect.Headers.Location?.OriginalString);

            long total = 0;
            for (var attempt = 0; attempt < 100 && total == 0; attempt++)
            {
                await Task.Delay(200);
                var stats = await client.GetFromJsonAsync<JsonElement>($"/api/links/{code}/stats");
                total = stats.GetProperty("totalClicks").GetInt64();
            }
            Assert.Equal(1, total);

            var version = await client.GetFromJsonAsync<JsonElement>("/version");
            Assert.NotEqual("unknown", version.GetProperty("gitSha").GetString());

            await app.StopAsync(CancellationToken.None);
        }
        finally
        {
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: under the temp dir.
            }
            catch (UnauthorizedAccessException)
            {
                // PostgreSQL's files belong to the postgres user when run as root.
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
