using System.Diagnostics;

namespace Shortener.Tests.Infrastructure;

/// <summary>
/// The defect these guard: ports picked by bind-then-release came from the ephemeral range, and an outgoing
/// connection took one before the server it was meant for (make run's, after a two-minute build) could bind it.
/// </summary>
public sealed class TestPortsTests
{
    [Fact]
    public void PortsLieBelowTheEphemeralRangeAndAreNeverHandedOutTwice()
    {
        var ephemeralLow = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split('\t', ' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        var ports = Enumerable.Range(0, 50).Select(_ => TestPorts.Next()).ToList();
        var run = TestPorts.Next(count: 3);

        Assert.All(ports, port => Assert.InRange(port, 1024, ephemeralLow - 1));
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.All(new[] { run, run + 1, run + 2 }, port =>
        {
            Assert.DoesNotContain(port, ports);
            Assert.True(TestPorts.IsFree(port), $"port {port} of the run is taken");
        });
        Assert.InRange(run + 2, 1024, ephemeralLow - 1);
    }

    [Fact]
    public void AnotherProcessCannotTakeAReservedPortsLock()
    {
        var port = TestPorts.Next();
        var lockFile = Path.Combine(Path.GetTempPath(), "shortener-test-ports", $"{port}.lock");

        // flock(1) takes the same kind of lock another test process's TestPorts would; -n: fail at once instead of waiting.
        using var other = Process.Start(new ProcessStartInfo("flock", ["-n", lockFile, "true"]))!;
        Assert.True(other.WaitForExit(10_000), "flock did not return");
        Assert.Equal(1, other.ExitCode);
    }
}
