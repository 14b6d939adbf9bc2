extern alias testreport;
using testreport::Shortener.TestReport;

namespace Shortener.Tests.Tooling;

/// <summary>
/// scripts/test.sh prints this report at the end of `make test`, where a CI log's tail shows it. The fixtures are
/// real TRX files from `dotnet test` (xunit 2.9.3, xunit.runner.visualstudio 3.1.5, the versions pinned here) on a
/// throwaway project: a class fixture whose DisposeAsync throws, and a test that fails. A failed fixture cleanup is
/// how a CI run ended "1016 passed, 0 failed" with `dotnet test` failing and nothing in the log's tail to say why.
/// </summary>
public sealed class TestReportTests : IDisposable
{
    private static readonly string s_fixtures = Path.Combine(AppContext.BaseDirectory, "Tooling", "Fixtures");
    private readonly string _dir = Directory.CreateTempSubdirectory("trx-").FullName;

    [Fact]
    public void AFixturesFailedCleanupIsARunErrorWithItsExceptionThoughEveryTestPassed()
    {
        var report = TestRunReport.Read([Path.Combine(s_fixtures, "cleanup-failure-only.trx")]);

        Assert.Equal((1, 0, 0), (report.Passed, report.Failed, report.Skipped));
        Assert.Empty(report.FailedTests);
        var error = Assert.Single(report.RunErrors);
        Assert.Contains("[Test Class Cleanup Failure (CleanupTests)] System.InvalidOperationException", error.Text);
        // The header alone does not say what threw: the message and the stack come from the run's output.
        Assert.Contains(error.Details, line => line.Contains("fixture cleanup threw"));
        Assert.Contains(error.Details, line => line.Contains("at ThrowingFixture.DisposeAsync()"));
        Assert.DoesNotContain(error.Details, line => line.Contains("Discovering:") || line.Contains("Finished:"));

        var text = report.Render();
        Assert.Contains("Run errors (they fail `dotnet test` even when no test failed):", text);
        Assert.Contains("fixture cleanup threw", text);
        Assert.EndsWith("1 passed, 0 failed, 0 skipped\n", text);
    }

    [Fact]
    public void AFailedTestIsPrintedWithItsMessageAndTheStartOfItsStack()
    {
        var report = TestRunReport.Read([Path.Combine(s_fixtures, "failed-test-and-cleanup-failure.trx")]);

        Assert.Equal((1, 1), (report.Passed, report.Failed));
        var failed = Assert.Single(report.FailedTests);
        Assert.Equal("FailingTests.Fails", failed.Name);
        Assert.Contains("Assert.Equal() Failure: Values differ", failed.Message);
        Assert.Contains("at FailingTests.Fails()", failed.StackTrace);
        // xUnit logs "FailingTests.Fails [FAIL]" at error level too: it is the failed test, not a second problem.
        var error = Assert.Single(report.RunErrors);
        Assert.Contains("Test Class Cleanup Failure (CleanupTests)", error.Text);
        Assert.Equal(["(its exception is in the console log, among the failed tests' messages)"], error.Details);

        var text = report.Render();
        Assert.Contains("Failed tests:\n  FailingTests.Fails\n      Assert.Equal() Failure: Values differ", text);
        Assert.EndsWith("1 passed, 1 failed, 0 skipped\n", text);
    }

    [Fact]
    public void CountsAddUpOverAssembliesWarningsAreNoErrorsAndLongMessagesAreClipped()
    {
        var longMessage = string.Join('\n', Enumerable.Range(1, 30).Select(i => $"line {i}"));
        Write("a.trx", Trx(total: 5, executed: 4, passed: 3, failed: 1,
            results: $"""<UnitTestResult testName="A.Fails" outcome="Failed"><Output><ErrorInfo><Message>{longMessage}</Message></ErrorInfo></Output></UnitTestResult>""",
            runInfos: """<RunInfo computerName="vm" outcome="Warning" timestamp="2026-12-03T00:00:00Z"><Text>No test matches the given testcase filter</Text></RunInfo>"""));
        Write("b.trx", Trx(total: 7, executed: 7, passed: 7, failed: 0, results: "", runInfos: ""));

        var report = TestRunReport.Read(Directory.GetFiles(_dir, "*.trx"));

        Assert.Equal((10, 1, 1), (report.Passed, report.Failed, report.Skipped));
        Assert.Empty(report.RunErrors);
        var text = report.Render(maxLinesPerMessage: 12);
        Assert.Contains("      line 12\n      ... (18 more lines in the TRX file)", text);
        Assert.DoesNotContain("line 13", text);
        Assert.DoesNotContain("Run errors", text);
    }

    [Fact]
    public void AFileWithoutCountersIsRefusedRatherThanCountedAsNothing()
    {
        Write("broken.trx", """<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010"><ResultSummary outcome="Completed" /></TestRun>""");

        var error = Assert.Throws<InvalidDataException>(() => TestRunReport.Read([Path.Combine(_dir, "broken.trx")]));
        Assert.Contains("no Counters", error.Message);
    }

    private void Write(string name, string xml) => File.WriteAllText(Path.Combine(_dir, name), xml);

    private static string Trx(int total, int executed, int passed, int failed, string results, string runInfos) => $"""
        <TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
          <Results>{results}</Results>
          <ResultSummary outcome="Completed">
            <Counters total="{total}" executed="{executed}" passed="{passed}" failed="{failed}" error="0" timeout="0" aborted="0" />
            <RunInfos>{runInfos}</RunInfos>
          </ResultSummary>
        </TestRun>
        """;

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
