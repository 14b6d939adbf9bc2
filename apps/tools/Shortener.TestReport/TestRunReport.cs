using System.Xml.Linq;

namespace Shortener.TestReport;

/// <summary>One failed test: its name and the first lines of its message and stack trace.</summary>
public sealed record FailedTest(string Name, string Message, string StackTrace);

/// <summary>
/// A run-level message at error level: VSTest fails the run for it even when every test passed. xUnit logs a
/// fixture's failed cleanup this way: the TRX holds its one-line header here and the exception's message and stack
/// in the run's output, which <see cref="Details"/> carries (the adapter's routine progress lines left out).
/// </summary>
public sealed record RunError(string Source, string Text, IReadOnlyList<string> Details);

/// <summary>What the TRX files of one `dotnet test` say, summed over the test assemblies.</summary>
public sealed record TestRunReport(int Passed, int Failed, int Skipped, IReadOnlyList<FailedTest> FailedTests, IReadOnlyList<RunError> RunErrors)
{
    private static readonly XNamespace s_trx = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    public static TestRunReport Read(IEnumerable<string> trxFiles)
    {
        int passed = 0, failed = 0, skipped = 0;
        var failedTests = new List<FailedTest>();
        var runErrors = new List<RunError>();
        foreach (var file in trxFiles)
        {
            var run = XDocument.Load(file).Root ?? throw new InvalidDataException($"{file}: empty TRX file");
            var summary = run.Element(s_trx + "ResultSummary") ?? throw new InvalidDataException($"{file}: no ResultSummary");
            var counters = summary.Element(s_trx + "Counters") ?? throw new InvalidDataException($"{file}: no Counters");
            passed += Count(counters, "passed");
            failed += Count(counters, "failed") + Count(counters, "error") + Count(counters, "timeout") + Count(counters, "aborted");
            skipped += Count(counters, "total") - Count(counters, "executed");

            var failedBefore = failedTests.Count;
            foreach (var result in run.Descendants(s_trx + "UnitTestResult").Where(r => (string?)r.Attribute("outcome") is "Failed" or "Error" or "Timeout" or "Aborted"))
            {
                var error = result.Element(s_trx + "Output")?.Element(s_trx + "ErrorInfo");
                failedTests.Add(new FailedTest(
                    (string?)result.Attribute("testName") ?? "(unnamed)",
                    error?.Element(s_trx + "Message")?.Value.Trim() ?? "",
                    error?.Element(s_trx + "StackTrace")?.Value.Trim() ?? ""));
            }
            // Informational and warning run messages (e.g. "No test matches the given testcase filter") do not fail a
            // run. xUnit also logs each failed test's "Name [FAIL]" at error level: those are listed above already.
            var errors = summary.Descendants(s_trx + "RunInfo")
                .Where(i => (string?)i.Attribute("outcome") == "Error" && !(i.Element(s_trx + "Text")?.Value.TrimEnd().EndsWith("[FAIL]") ?? false))
                .ToList();
            // The run's output also holds the failed tests' messages; with failed tests it is left to the console log.
            List<string> details = failedTests.Count > failedBefore ? ["(its exception is in the console log, among the failed tests' messages)"]
                : errors.Count == 0 ? [] : Diagnostics(summary.Element(s_trx + "Output")?.Element(s_trx + "StdOut")?.Value ?? "");
            foreach (var info in errors)
            {
                runErrors.Add(new RunError(Path.GetFileName(file), info.Element(s_trx + "Text")?.Value.Trim() ?? "", details));
                details = []; // one file's output once, under its first error
            }
        }
        return new TestRunReport(passed, failed, skipped, failedTests, runErrors);
    }

    public string Render(int maxLinesPerMessage = 12)
    {
        var lines = new List<string>();
        if (FailedTests.Count > 0)
        {
            lines.Add("Failed tests:");
            foreach (var test in FailedTests)
            {
                lines.Add("  " + test.Name);
                lines.AddRange(Clip(test.Message, maxLinesPerMessage).Select(line => "      " + line));
                lines.AddRange(Clip(test.StackTrace, 4).Select(line => "      " + line));
            }
        }
        if (RunErrors.Count > 0)
        {
            lines.Add("Run errors (they fail `dotnet test` even when no test failed):");
            foreach (var error in RunErrors)
            {
                lines.Add($"  {error.Source}: {error.Text}");
                lines.AddRange(Clip(string.Join('\n', error.Details), 3 * maxLinesPerMessage).Select(line => "      " + line));
            }
        }
        lines.Add($"{Passed} passed, {Failed} failed, {Skipped} skipped");
        return string.Join('\n', lines) + "\n";
    }

    // The adapter's progress lines, which say nothing about what went wrong.
    private static readonly string[] s_routine = ["xUnit.net VSTest Adapter", "Discovering:", "Discovered:", "Starting:", "Finished:"];

    private static List<string> Diagnostics(string output) =>
        output.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.Length > 0 && !s_routine.Any(line.Contains)).ToList();

    private static int Count(XElement counters, string name) => (int?)counters.Attribute(name) ?? 0;

    private static IEnumerable<string> Clip(string text, int maxLines)
    {
        if (text.Length == 0) yield break;
        var lines = text.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        foreach (var line in lines.Take(maxLines)) yield return line;
        if (lines.Length > maxLines) yield return $"... ({lines.Length - maxLines} more lines in the TRX file)";
    }
}
