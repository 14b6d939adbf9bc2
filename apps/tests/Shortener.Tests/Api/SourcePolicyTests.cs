using System.Text.RegularExpressions;
using Shortener.Tests.Infrastructure;

namespace Shortener.Tests.Api;

/// <summary>Rules about the source itself, for classes of defect that once reached production code.</summary>
public sealed partial class SourcePolicyTests
{
    [Fact]
    public void EveryValidationPatternIsAnchoredWithZNotDollar()
    {
        // In .NET "$" matches before a final "\n" too, so "^[a-z]+$" accepts "abc\n" (it once let a code reach
        // PostgreSQL's CHECK and answer 500). Patterns that validate whole values end with \z.
        var sources = Directory.EnumerateFiles(Path.Combine(ServiceProcess.RepoRoot(), "apps", "src"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        var offenders = new List<string>();
        var patterns = 0;
        foreach (var path in sources)
        {
            foreach (Match match in RegexLiteral().Matches(File.ReadAllText(path)))
            {
                patterns++;
                var pattern = match.Groups["pattern"].Value;
                if (Regex.IsMatch(pattern, @"(?<!\\)\$")) offenders.Add($"{Path.GetFileName(path)}: {pattern}");
            }
        }
        Assert.True(patterns > 0, "no regex literal found: the scan itself is broken");
        Assert.True(offenders.Count == 0, "patterns anchored with $: " + string.Join("; ", offenders));
    }

    [GeneratedRegex("""(?:GeneratedRegex|new Regex)\(\s*(?:@"(?<pattern>(?:[^"]|"")*)"|"(?<pattern>(?:[^"\\]|\\.)*)")""")]
    private static partial Regex RegexLiteral();
}
