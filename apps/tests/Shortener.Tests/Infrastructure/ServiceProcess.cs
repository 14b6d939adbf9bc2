using System.Diagnostics;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// A service (API or worker) as a real OS process, built by the same build as the tests, so a test
/// can send it SIGTERM or SIGKILL exactly as an orchestrator would.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServiceProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static async Task<ServiceProcess> StartAsync(string project, IDictionary<string, string> environment, bool waitUntilReady = true,
        TimeSpan? readyTimeout = null)
    {
        var assembly = Path.Combine(RepoRoot(), "apps", "src", project, "bin", BuildConfiguration(), "net10.0", project + ".dll");
        if (!File.Exists(assembly)) throw new FileNotFoundException($"{assembly} is not built; run `make test`, which builds the solution first.");

        var port = TestPorts.Next();
        var env = new Dictionary<string, string>(environment)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
        };
        var process = LocalProcess.Start("dotnet", [assembly], Path.GetDirectoryName(assembly), env);
        var service = new ServiceProcess(process, new Uri($"http://127.0.0.1:{port}"));
        if (waitUntilReady)
        {
            using var client = service.Client();
            await LocalProcess.WaitUntilAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"{project} exited with {process.ExitCode}");
                return (await client.GetAsync("/readyz")).IsSuccessStatusCode;
            }, readyTimeout ?? TimeSpan.FromSeconds(30), $"{project} to be ready");
        }
        return service;
    }

    public HttpClient Client() =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public void Signal(int signal) => LocalProcess.Signal(_process, signal);

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(LocalProcess.SigKill);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "global.json"))) return dir.FullName;
        }
        throw new InvalidOperationException("Repository root (global.json) not found above the test assembly.");
    }

    /// <summary>Debug or Release: whatever built this test assembly built the services too.</summary>
    private static string BuildConfiguration() =>
        new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
}
