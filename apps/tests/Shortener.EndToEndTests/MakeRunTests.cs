using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Shortener.EndToEndTests;

/// <summary>
/// `make run` as a newcomer runs it: from a fresh clone in a directory other users cannot traverse (root's
/// home is 0700, so is a temp directory), on ports of its own. Then what makes a run fail: a taken port,
/// a second run of the same data, a resource that is not ready in time; each must explain itself and exit.
/// </summary>
public sealed class MakeRunTests
{
    internal static readonly string RepoRoot = FindRepoRoot();

    [Fact]
    public async Task MakeRunFromAPrivateCloneServesRedirectsCountsClicksAndLeavesNothingAfterSigterm()
    {
        var home = Directory.CreateTempSubdirectory("shortener-newcomer-");
        File.SetUnixFileMode(home.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var clone = Path.Combine(home.FullName, "shortener");
        Process? run = null;
        try
        {
            await RunAsync("git", ["clone", "--quiet", RepoRoot, clone], TimeSpan.FromMinutes(2));
            var ports = PortsForOneRun();
            var output = new StringBuilder();
            var clock = Stopwatch.StartNew();
            // setsid: its own process group, signalled as a terminal's Ctrl-C would signal `make run`.
            run = Start("setsid", ["make", "run"], clone, ports.Environment, output);

            await WaitForAsync(() => Task.FromResult(Output(output).Contains("Ready in", StringComparison.Ordinal) || run.HasExited),
                TimeSpan.FromMinutes(12), "make run to print the URLs");
            Assert.False(run.HasExited, "make run exited early:\n" + Output(output));
            Console.WriteLine($"make run from a fresh clone: ready {clock.Elapsed.TotalSeconds:0} s after start (build included)");

            using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{ports.Api}") };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);
            var key = (await File.ReadAllTextAsync(Path.Combine(clone, ".data", "bootstrap-api-key"))).Trim();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            var created = await client.PostAsJsonAsync("/api/links", new { url = "https://example.com/newcomer" });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var code = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString();
            var redirect = await client.GetAsync("/" + code);
            Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
            Assert.Equal("https://example.com/newcomer", redirect.Headers.Location?.OriginalString);
            await WaitForAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/api/links/{code}/stats")).GetProperty("totalClicks").GetInt64() == 1,
                TimeSpan.FromSeconds(30), "the click in the stats");

            // The cluster lives outside the private clone, where the postgres user can reach it.
            var cluster = Path.GetFullPath(new DirectoryInfo(Path.Combine(clone, ".data", "postgres")).ResolveLinkTarget(returnFinalTarget: true)?.FullName
                ?? throw new InvalidOperationException(".data/postgres is not a symlink although the clone is private"));
            var appHost = int.Parse((await File.ReadAllTextAsync(Path.Combine(clone, ".data", "run", "apphost.pid"))).Split(' ')[0], CultureInfo.InvariantCulture);

            await RunAsync("kill", ["-TERM", "--", "-" + run.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            await WaitForAsync(() => Task.FromResult(!Directory.Exists($"/proc/{appHost}")), TimeSpan.FromSeconds(90), "the AppHost to exit after SIGTERM");

            // Aspire's orchestrator (DCP) notices the AppHost is gone and exits on its own within seconds.
            var left = ProcessesMentioning(clone, cluster);
            for (var waited = 0; left.Count > 0 && waited < 60; waited++)
            {
                await Task.Delay(500);
                left = ProcessesMentioning(clone, cluster);
            }
            Assert.True(left.Count == 0, "still running 30 s after the AppHost exited:\n" + string.Join('\n', left));
            foreach (var (name, port) in ports.All) Assert.True(TestPorts.IsFree(port), $"port {port} ({name}) is still taken after SIGTERM");
            await RunAsync("make", ["clean-data"], TimeSpan.FromSeconds(30), clone);
            Assert.False(Directory.Exists(cluster), "make clean-data left the cluster at " + cluster);
        }
        finally
        {
            if (run is { HasExited: false })
            {
                await RunAsync("kill", ["-TERM", "--", "-" + run.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
                await run.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            run?.Dispose();
            StopRecorded(Path.Combine(clone, ".data"));
            home.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ATakenPortIsNamedAndTheRunExitsAtOnce()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var dataDir = Directory.CreateTempSubdirectory("shortener-preflight-").FullName;
        try
        {
            var ports = PortsForOneRun();
            var (exitCode, output) = await RunAppHostAsync(dataDir, ports, [("Local__RedisPort", Invariant(taken))], TimeSpan.FromSeconds(60));
            Assert.Equal(2, exitCode);
            Assert.Contains($"Port {taken} (Redis) is already in use", output);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task ASecondRunOfTheSameDataIsRefused()
    {
        var dataDir = Directory.CreateTempSubdirectory("shortener-preflight-").FullName;
        try
        {
            // A live process recorded as the AppHost of this data (this test host stands in for it).
            var self = Environment.ProcessId;
            Directory.CreateDirectory(Path.Combine(dataDir, "run"));
            await File.WriteAllTextAsync(Path.Combine(dataDir, "run", "apphost.pid"), $"{self} {StartTime(self)}\n");
            var (exitCode, output) = await RunAppHostAsync(dataDir, PortsForOneRun(), [], TimeSpan.FromSeconds(60));
            Assert.Equal(2, exitCode);
            Assert.Contains($"already running (AppHost PID {self})", output);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task AResourceNotReadyInTimeStopsTheRunWithItsLastLogLinesAndLeavesNothing()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "shortener-watchdog-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        try
        {
            var ports = PortsForOneRun();
            // 1 s: less than initdb, migrations and the API's start take on any machine. The 4 s it was held on an idle
            // machine: the whole stack was ready within 4 s of the watchdog starting, and the run never stopped.
            var (exitCode, output) = await RunAppHostAsync(dataDir, ports,
                [("Local__StartupTimeout", "00:00:01"), ("Local__Observability", "false")], TimeSpan.FromMinutes(3));
            Assert.Equal(1, exitCode);
            Assert.Matches(@"make run: \S+ not ready after 1 s \(state: \w+\)\. Its last log lines:", output);
            Assert.Contains("make run: stopping everything.", output);
            Assert.Empty(ProcessesMentioning(dataDir));
            foreach (var (name, port) in ports.All.Take(4)) Assert.True(TestPorts.IsFree(port), $"port {port} ({name}) is still taken after the watchdog stopped the run");
        }
        finally
        {
            StopRecorded(dataDir);
            try
            {
                Directory.Delete(dataDir, recursive: true);
            }
            catch (UnauthorizedAccessException)
            {
                // PostgreSQL's files belong to the postgres user when run as root; the temp dir is cleaned by the OS.
            }
        }
    }

    [Fact]
    public void OnlyProcessesStartedAfterTheRunAreRecorded()
    {
        // A defect this guards: a resource not started yet reports PID 0, and the "descendants" of PID 0 are
        // init and everything under it, which the run then stopped on its way out (this test host included).
        var dataDir = Directory.CreateTempSubdirectory("shortener-record-").FullName;
        try
        {
            var record = new Shortener.AppHost.LocalRun.RunRecord(dataDir);
            record.Record("not-started", 0);
            record.Record("init", 1);
            record.Record("self", Environment.ProcessId);
            record.Record("older", ParentOf(Environment.ProcessId));
            Assert.False(File.Exists(Path.Combine(dataDir, "run", "processes")), "recorded a process the run did not start");

            using var child = Process.Start(new ProcessStartInfo("sleep", ["30"]))!;
            var started = new Shortener.AppHost.LocalRun.RunRecord(dataDir);
            // The test host stands in for an AppHost started before its child.
            started.Record("child", child.Id);
            Assert.Contains($"{child.Id} ", File.ReadAllText(Path.Combine(dataDir, "run", "processes")), StringComparison.Ordinal);
            Assert.Equal(1, Shortener.AppHost.LocalRun.RunRecord.StopLeftovers(dataDir, TimeSpan.Zero, TimeSpan.FromSeconds(5)));
            Assert.True(child.WaitForExit(5000), "the recorded child was not stopped");
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
    }

    private sealed record Ports(int Api, int Worker, int Console, int Postgres, int Redis, int Prometheus, int Alertmanager,
        int NodeExporter, int Blackbox, int RedisExporter, int PostgresExporter, int Dashboard)
    {
        public IEnumerable<(string Name, int Port)> All =>
        [
            ("API", Api), ("worker", Worker), ("web console", Console), ("PostgreSQL", Postgres), ("Redis", Redis), ("Prometheus", Prometheus),
            ("Alertmanager", Alertmanager), ("node exporter", NodeExporter), ("blackbox", Blackbox), ("Redis exporter", RedisExporter),
            ("PostgreSQL exporter", PostgresExporter), ("dashboard", Dashboard), ("dashboard OTLP", Dashboard + 1), ("dashboard resources", Dashboard + 2),
        ];

        public IEnumerable<(string, string)> Environment =>
        [
            ("API_PORT", Invariant(Api)), ("WORKER_PORT", Invariant(Worker)), ("POSTGRES_PORT", Invariant(Postgres)), ("REDIS_PORT", Invariant(Redis)),
            ("PROMETHEUS_PORT", Invariant(Prometheus)), ("ALERTMANAGER_PORT", Invariant(Alertmanager)), ("DASHBOARD_PORT", Invariant(Dashboard)),
            ("Local__ApiPort", Invariant(Api)), ("Local__WorkerPort", Invariant(Worker)), ("Local__ConsolePort", Invariant(Console)), ("Local__PostgresPort", Invariant(Postgres)),
            ("Local__RedisPort", Invariant(Redis)), ("Local__PrometheusPort", Invariant(Prometheus)), ("Local__AlertmanagerPort", Invariant(Alertmanager)),
            ("Local__NodeExporterPort", Invariant(NodeExporter)), ("Local__BlackboxPort", Invariant(Blackbox)),
            ("Local__RedisExporterPort", Invariant(RedisExporter)), ("Local__PostgresExporterPort", Invariant(PostgresExporter)),
        ];
    }

    /// <summary>Free ports for one run; the dashboard takes three in a row.</summary>
    private static Ports PortsForOneRun()
    {
        static int Next() => TestPorts.Next();
        return new(Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), Next(), TestPorts.Next(count: 3));
    }

    /// <summary>The AppHost `make run` built, run directly on throwaway data with the settings run-local.sh gives it.</summary>
    private static async Task<(int ExitCode, string Output)> RunAppHostAsync(string dataDir, Ports ports, (string, string)[] settings, TimeSpan timeout)
    {
        var appHost = Path.Combine(RepoRoot, "apps", "src", "Shortener.AppHost", "bin", "Debug", "net10.0", "Shortener.AppHost");
        Assert.True(File.Exists(appHost), $"{appHost} is missing: build the solution first (`make build`)");
        var output = new StringBuilder();
        using var process = Start(appHost, [], RepoRoot,
            [
                .. ports.Environment, .. settings, ("Local__DataDir", dataDir),
                ("ASPNETCORE_ENVIRONMENT", "Development"), ("DOTNET_ENVIRONMENT", "Development"), ("ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true"),
                ("ASPNETCORE_URLS", $"http://127.0.0.1:{ports.Dashboard}"),
                ("ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL", $"http://127.0.0.1:{ports.Dashboard + 1}"),
                ("ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL", $"http://127.0.0.1:{ports.Dashboard + 2}"),
            ],
            output);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the AppHost did not exit within {timeout.TotalSeconds:0} s:\n{Output(output)}");
        }
        process.WaitForExit(); // drains the output readers
        return (process.ExitCode, Output(output));
    }

    private static Process Start(string file, IEnumerable<string> arguments, string directory, IEnumerable<(string Name, string Value)> environment, StringBuilder output)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment) info.Environment[name] = value;
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Output(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    private static async Task RunAsync(string file, string[] arguments, TimeSpan timeout, string? directory = null)
    {
        var output = new StringBuilder();
        using var process = Start(file, arguments, directory ?? RepoRoot, [], output);
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{Output(output)}");
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition()) return;
            }
            catch (HttpRequestException)
            {
                // Not up yet.
            }
            await Task.Delay(500);
        }
        Assert.Fail($"timed out after {timeout.TotalSeconds:0} s waiting for {what}");
    }

    /// <summary>Live processes whose command line or working directory mentions one of the paths.</summary>
    private static List<string> ProcessesMentioning(params string[] paths)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId) continue;
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var cwd = new DirectoryInfo(Path.Combine(dir, "cwd")).ResolveLinkTarget(returnFinalTarget: false)?.FullName ?? "";
                if (paths.Any(p => commandLine.Contains(p, StringComparison.Ordinal) || cwd.StartsWith(p, StringComparison.Ordinal)))
                {
                    found.Add($"{pid}: {commandLine} (cwd {cwd})");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone while we looked, or a kernel thread.
            }
        }
        return found;
    }

    /// <summary>
    /// Cleanup after a failed assertion: the processes the run recorded (PID and start time, as the AppHost's
    /// RunRecord writes them), never a scan by pattern, which could hit a stranger.
    /// </summary>
    private static void StopRecorded(string dataDir)
    {
        var file = Path.Combine(dataDir, "run", "processes");
        if (!File.Exists(file)) return;
        foreach (var line in File.ReadAllLines(file))
        {
            var fields = line.Split(' ');
            try
            {
                var pid = int.Parse(fields[0], CultureInfo.InvariantCulture);
                if (StartTime(pid) == long.Parse(fields[1], CultureInfo.InvariantCulture)) Process.GetProcessById(pid).Kill();
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                // Already gone.
            }
        }
    }

    private static long StartTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[19], CultureInfo.InvariantCulture);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "global.json"))) return dir.FullName;
        }
        throw new InvalidOperationException("No global.json above " + AppContext.BaseDirectory);
    }
}
