using System.Text.RegularExpressions;

namespace Shortener.Deploy;

/// <summary>
/// An automatic rollback runs the previous release on the new schema, so a release may only expand it.
/// Flags each destructive statement in the release's new migrations (DROP TABLE/COLUMN, RENAME, a
/// column type change, SET NOT NULL) whose table or column the previous release's code still names.
/// The contract step of expand/contract (dropping what no running release uses) passes.
/// </summary>
public static partial class MigrationSafety
{
    public sealed record Finding(string Migration, string Statement, string Identifier, string UsedAt);

    public static IReadOnlyList<Finding> Check(IEnumerable<string> newMigrations, string previousSource)
    {
        var sources = Directory.EnumerateFiles(previousSource, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => (File: Path.GetRelativePath(previousSource, f), Lines: SqlTextOf(File.ReadAllText(f))))
            .ToList();
        var findings = new List<Finding>();
        foreach (var migration in newMigrations)
        {
            var sql = Comments().Replace(File.ReadAllText(migration), " ");
            foreach (Match m in Destructive().Matches(sql))
            {
                var identifier = m.Groups["name"].Value.Trim('"');
                var statement = Whitespace().Replace(m.Value, " ").Trim();
                var use = FindUse(sources, identifier);
                if (use is not null) findings.Add(new Finding(Path.GetFileName(migration), statement, identifier, use));
            }
        }
        return findings;
    }

    /// <summary>
    /// The lines of a C# file's string literals, where its SQL lives: an identifier in a comment or a
    /// variable name ("owner") is no use of the column. Other lines become empty, so numbers still match.
    /// </summary>
    private static string[] SqlTextOf(string code)
    {
        var kept = new char[code.Length];
        Array.Fill(kept, ' ');
        foreach (Match match in StringLiteralsOrComments().Matches(code))
        {
            var literal = match.Groups["lit"];
            if (literal.Success) code.CopyTo(literal.Index, kept, literal.Index, literal.Length);
        }
        for (var i = 0; i < code.Length; i++)
        {
            if (code[i] == '\n') kept[i] = '\n';
        }
        return new string(kept).Split('\n');
    }

    private static string? FindUse(IEnumerable<(string File, string[] Lines)> sources, string identifier)
    {
        var word = new Regex($@"\b{Regex.Escape(identifier)}\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        foreach (var (file, lines) in sources)
        {
            for (var i = 0; i < lines.Length; i++)
            {
                if (word.IsMatch(lines[i])) return $"{file}:{i + 1}";
            }
        }
        return null;
    }

    [GeneratedRegex(@"--[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();

    // Raw ("""), verbatim (@"") and regular string literals; comments first so a quote inside one is skipped.
    [GeneratedRegex("""
        //[^\n]*
        | /\*.*?\*/
        | (?<lit>\$*"{3,}.*?"{3,})
        | (?<lit>\$*@"(?:[^"]|"")*")
        | (?<lit>\$*"(?:[^"\\\n]|\\.)*")
        """, RegexOptions.Singleline | RegexOptions.IgnorePatternWhitespace)]
    private static partial Regex StringLiteralsOrComments();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    // The identifier the previous release would miss: the dropped/renamed table or column, or the column
    // whose type or nullability changes under it.
    [GeneratedRegex("""
        DROP\s+TABLE\s+(IF\s+EXISTS\s+)?(\w+\.)?(?<name>"?\w+"?)
        | DROP\s+COLUMN\s+(IF\s+EXISTS\s+)?(?<name>"?\w+"?)
        | RENAME\s+COLUMN\s+(?<name>"?\w+"?)\s+TO
        | ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(ONLY\s+)?(\w+\.)?(?<name>"?\w+"?)\s+RENAME\s+TO
        | ALTER\s+COLUMN\s+(?<name>"?\w+"?)\s+(SET\s+DATA\s+)?TYPE
        | ALTER\s+COLUMN\s+(?<name>"?\w+"?)\s+SET\s+NOT\s+NULL
        """, RegexOptions.IgnoreCase | RegexOptions.IgnorePatternWhitespace | RegexOptions.CultureInvariant)]
    private static partial Regex Destructive();
}
