using System.Diagnostics;
using System.Text.RegularExpressions;
using Shortener.Api.Links;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Docs;

/// <summary>
/// The README and docs/ stay true to the repository: links lead somewhere, the ADRs are indexed and complete, the files,
/// tests and make targets they name exist, and the link codes their examples create are codes the API accepts (the
/// README once created the reserved code "docs", which answers 400). Each check also runs on a bad fixture, so a scan
/// that silently matches nothing cannot pass.
/// </summary>
public sealed partial class DocsTests
{
    private static readonly string s_root = ServiceProcess.RepoRoot();

    private static readonly string[] s_adrSections = ["## Context", "## Decision", "## Consequences", "## Alternatives considered"];

    [Fact]
    public void EveryRelativeLinkInTheDocsLeadsToAFileAndHeadingThatExist()
    {
        var problems = DocFiles().SelectMany(path => BrokenLinks(path, File.ReadAllText(path))).ToList();
        Assert.True(LinkPattern().Count(string.Join('\n', DocFiles().Select(File.ReadAllText))) > 20, "no links found: the scan is broken");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void EveryAdrIsInTheIndexWithAStatusAndTheFourSections()
    {
        var adrDir = Path.Combine(s_root, "docs", "adr");
        var index = File.ReadAllText(Path.Combine(adrDir, "README.md"));
        var records = Directory.GetFiles(adrDir, "*.md").Where(path => AdrFileName().IsMatch(Path.GetFileName(path))).Order().ToList();
        Assert.True(records.Count >= 8, $"only {records.Count} ADRs found in {adrDir}");

        var problems = records.SelectMany(path => AdrProblems(Path.GetFileName(path), File.ReadAllText(path), index)).ToList();
        var numbers = records.Select(path => Path.GetFileName(path)[..4]).ToList();
        problems.AddRange(numbers.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => $"ADR number {g.Key} is used {g.Count()} times"));
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void FilesTestsAndMakeTargetsNamedInTheDocsExist()
    {
        var testSources = string.Join('\n', SourceFiles(Path.Combine(s_root, "apps", "tests")).Select(File.ReadAllText));
        var everything = testSources + string.Join('\n', SourceFiles(Path.Combine(s_root, "apps", "src")).Select(File.ReadAllText))
            + string.Join('\n', Directory.EnumerateFiles(Path.Combine(s_root, "observability"), "*.yml", SearchOption.AllDirectories).Select(File.ReadAllText));
        var targets = MakeTargets(File.ReadAllText(Path.Combine(s_root, "Makefile")));
        var named = 0;
        var problems = new List<string>();
        foreach (var path in DocFiles())
        {
            var (count, missing) = MissingReferences(File.ReadAllText(path), testSources, everything, targets);
            named += count;
            problems.AddRange(missing.Select(m => $"{Relative(path)}: {m}"));
        }
        Assert.True(named > 50, $"only {named} references found: the scan is broken");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void LinkCodesCreatedInTheDocsExamplesAreValidCodes()
    {
        var codes = DocFiles().SelectMany(path => ExampleCodes(File.ReadAllText(path)).Select(code => (path, code))).ToList();
        Assert.NotEmpty(codes);
        var problems = codes
            .Where(c => LinkRules.ValidateCode(c.code) is not null)
            .Select(c => $"{Relative(c.path)}: \"code\": \"{c.code}\" is refused: {LinkRules.ValidateCode(c.code)}")
            .ToList();
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public async Task EveryBenchmarkChartInTheReadmeIsWhatChartPyDrawsFromItsResult()
    {
        var charts = BenchChart().Matches(File.ReadAllText(Path.Combine(s_root, "README.md"))).Select(m => m.Value).Distinct().ToList();
        Assert.NotEmpty(charts);
        foreach (var chart in charts)
        {
            var result = Path.ChangeExtension(chart, ".json");
            Assert.True(File.Exists(Path.Combine(s_root, result)), $"{chart} has no {result} to be drawn from");
            var drawn = await RunAsync("python3", "bench/chart.py", result, "--stdout");
            Assert.True(drawn == await File.ReadAllTextAsync(Path.Combine(s_root, chart)),
                $"{chart} is not what bench/chart.py draws from {result}: run python3 bench/chart.py {result}");
        }
    }

    [Fact]
    public void EachCheckFindsTheDefectInABadFixture()
    {
        var readme = Path.Combine(s_root, "README.md");
        Assert.NotEmpty(BrokenLinks(readme, "see [the design](docs/no-such-file.md) and [tour](#no-such-heading)"));
        Assert.NotEmpty(AdrProblems("0099-missing.md", "# 99. Missing\n\n## Context\n\n## Decision\n", index: ""));
        const string Sources = "public async Task ADeleteRacingACacheFillEndsGoneOnEveryReplica()";
        var (_, missing) = MissingReferences(
            "`apps/src/NoSuch.cs`, `Api/NoSuchTests.cs`, `CacheConsistencyTests.ADeleteRacingACacheFillEndsGone`, "
            + "`ADeleteRacingACacheFillEndsGoneOnOneReplica`, `make no-such-target`, `make run`, "
            + "`CacheConsistencyTests.ADeleteRacingACacheFillEndsGoneOnEveryReplica`",
            testSources: Sources, everything: Sources, targets: new HashSet<string>(StringComparer.Ordinal) { "run" });
        Assert.Equal(5, missing.Count);
        Assert.Equal("docs", Assert.Single(ExampleCodes("""curl -d '{"url": "https://example.com/docs", "code": "docs"}'""")));
        Assert.NotNull(LinkRules.ValidateCode("docs"));
    }

    private static async Task<string> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { WorkingDirectory = s_root, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} failed: {await errors}");
        return await output;
    }

    private static IEnumerable<string> DocFiles() =>
        new[] { Path.Combine(s_root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(s_root, "docs"), "*.md", SearchOption.AllDirectories))
            .Order();

    private static IEnumerable<string> SourceFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                           && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static string Relative(string path) => Path.GetRelativePath(s_root, path);

    /// <summary>Relative links (outside code) whose file, or whose #heading in a Markdown file, does not exist.</summary>
    private static List<string> BrokenLinks(string path, string markdown)
    {
        var problems = new List<string>();
        foreach (Match link in LinkPattern().Matches(WithoutCode(markdown)))
        {
            var target = link.Groups["target"].Value;
            if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal)
                || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
            var hash = target.IndexOf('#', StringComparison.Ordinal);
            var file = hash < 0 ? target : target[..hash];
            var anchor = hash < 0 ? null : target[(hash + 1)..];
            var resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, file));
            if (!File.Exists(resolved) && !Directory.Exists(resolved))
            {
                problems.Add($"{Relative(path)}: link to {target}: no such file");
            }
            else if (anchor is not null && resolved.EndsWith(".md", StringComparison.Ordinal)
                     && !Headings(File.ReadAllText(resolved)).Contains(anchor))
            {
                problems.Add($"{Relative(path)}: link to {target}: no such heading");
            }
        }
        return problems;
    }

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static HashSet<string> Headings(string markdown) =>
        OutsideFences(markdown)
            .Where(line => line.StartsWith('#'))
            .Select(line => line.TrimStart('#').Trim().ToLowerInvariant())
            .Select(text => new string(text.Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_').ToArray()).Replace(' ', '-'))
            .ToHashSet(StringComparer.Ordinal);

    private static List<string> AdrProblems(string fileName, string text, string index)
    {
        var problems = new List<string>();
        var number = int.Parse(fileName[..4], System.Globalization.CultureInfo.InvariantCulture);
        if (!text.StartsWith($"# {number}. ", StringComparison.Ordinal)) problems.Add($"{fileName}: the title must start with \"# {number}. \"");
        if (!text.Contains("\n- Status: ", StringComparison.Ordinal)) problems.Add($"{fileName}: no \"- Status:\" line");
        problems.AddRange(s_adrSections.Where(s => !text.Contains("\n" + s + "\n", StringComparison.Ordinal)).Select(s => $"{fileName}: no \"{s}\" section"));
        if (!index.Contains($"]({fileName})", StringComparison.Ordinal)) problems.Add($"{fileName}: not linked from docs/adr/README.md");
        return problems;
    }

    /// <summary>
    /// What inline code spans and code blocks name: repository paths, test source files ("Worker/WorkerKillTests.cs"),
    /// test methods ("ClassTests.Method", or a method name alone), and make targets.
    /// </summary>
    private static (int Count, List<string> Missing) MissingReferences(string markdown, string testSources, string everything, HashSet<string> targets)
    {
        var count = 0;
        var missing = new List<string>();
        foreach (var token in CodeTokens(markdown))
        {
            if (RepoPath().Match(token) is { Success: true } repoPath && !token.Contains("NNNN", StringComparison.Ordinal))
            {
                count++;
                var path = Path.Combine(s_root, repoPath.Value.TrimEnd('/', '.', ','));
                if (!File.Exists(path) && !Directory.Exists(path)) missing.Add($"`{token}`: no such file or directory");
            }
            else if (SourceFileName().IsMatch(token))
            {
                count++;
                var suffix = Path.DirectorySeparatorChar + token.Replace('/', Path.DirectorySeparatorChar);
                if (!SourceFiles(Path.Combine(s_root, "apps")).Any(p => p.EndsWith(suffix, StringComparison.Ordinal)))
                {
                    missing.Add($"`{token}`: no such source file under apps/");
                }
            }
            else if (TestMethod().Match(token) is { Success: true } test)
            {
                count++;
                if (!testSources.Contains($" {test.Groups["method"].Value}(", StringComparison.Ordinal)) missing.Add($"`{token}`: no such test");
            }
            else if (LongIdentifier().IsMatch(token))
            {
                count++;
                if (!Regex.IsMatch(everything, $@"\b{token}\b")) missing.Add($"`{token}`: named nowhere in apps/ or observability/");
            }
        }
        foreach (Match make in MakeCommand().Matches(string.Join('\n', CodeTokens(markdown))))
        {
            count++;
            if (!targets.Contains(make.Groups["target"].Value)) missing.Add($"`make {make.Groups["target"].Value}`: no such target in the Makefile");
        }
        return (count, missing);
    }

    private static HashSet<string> MakeTargets(string makefile) =>
        MakeTarget().Matches(makefile).Select(m => m.Groups["target"].Value).ToHashSet(StringComparer.Ordinal);

    /// <summary>The codes created by the JSON bodies of the docs' examples.</summary>
    private static List<string> ExampleCodes(string markdown) =>
        ExampleCode().Matches(markdown).Select(m => m.Groups["code"].Value).ToList();

    /// <summary>Inline code spans and the lines of fenced code blocks.</summary>
    private static IEnumerable<string> CodeTokens(string markdown)
    {
        var inFence = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                continue;
            }
            if (inFence)
            {
                yield return line;
                continue;
            }
            foreach (Match span in InlineCode().Matches(line)) yield return span.Groups["code"].Value;
        }
    }

    private static string WithoutCode(string markdown) =>
        string.Join('\n', OutsideFences(markdown).Select(line => InlineCode().Replace(line, "")));

    private static IEnumerable<string> OutsideFences(string markdown)
    {
        var inFence = false;
        foreach (var line in markdown.Split('\n'))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
            else if (!inFence) yield return line;
        }
    }

    [GeneratedRegex(@"\[[^\]]*\]\((?<target>[^)\s]+)\)")]
    private static partial Regex LinkPattern();

    [GeneratedRegex(@"^\d{4}-[a-z0-9-]+\.md\z")]
    private static partial Regex AdrFileName();

    [GeneratedRegex(@"`(?<code>[^`]+)`")]
    private static partial Regex InlineCode();

    // A whole token that is a path in the repository; placeholders (<...>, {...}, NNNN, *) are not checked.
    [GeneratedRegex(@"^(?:apps|scripts|observability|deploy|docs|bench)/[A-Za-z0-9_./-]*\z")]
    private static partial Regex RepoPath();

    [GeneratedRegex(@"^(?:[A-Z][A-Za-z.]+/)*[A-Z][A-Za-z]+\.cs\z")]
    private static partial Regex SourceFileName();

    [GeneratedRegex(@"^[A-Z][A-Za-z]*Tests\.(?<method>[A-Z][A-Za-z0-9]+)\z")]
    private static partial Regex TestMethod();

    // A test name (a sentence), a class or an alert on its own: long enough not to be a common word.
    [GeneratedRegex(@"^(?=\w{24,}\z)(?:[A-Z][a-z0-9]*){4,}\z")]
    private static partial Regex LongIdentifier();

    [GeneratedRegex(@"(?:^|[\s;(])make (?<target>[a-z][a-z-]*)(?![\w-])", RegexOptions.Multiline)]
    private static partial Regex MakeCommand();

    [GeneratedRegex(@"^(?<target>[a-zA-Z_-]+):", RegexOptions.Multiline)]
    private static partial Regex MakeTarget();

    [GeneratedRegex(@"bench/results/[A-Za-z0-9_.-]+\.svg")]
    private static partial Regex BenchChart();

    [GeneratedRegex(@"""code""\s*:\s*""(?<code>[^""]*)""")]
    private static partial Regex ExampleCode();
}
