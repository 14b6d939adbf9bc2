namespace Shortener.Kubernetes.Tests;

internal static class Repo
{
    /// <summary>The repository root: the first ancestor of the test binaries holding the Makefile and deploy/k8s.</summary>
    public static string Root { get; } = FindRoot();

    public static Manifests Manifests { get; } = new(Path.Combine(Root, "deploy/k8s"));

    public static string CapacityDoc => Path.Combine(Root, "docs/capacity.md");

    /// <summary>The bench results docs/capacity.md says it was generated from (its first backticked .json path).</summary>
    public static string CapacityInput
    {
        get
        {
            var text = File.ReadAllText(CapacityDoc);
            var match = System.Text.RegularExpressions.Regex.Match(text, "from `(bench/results/[^`]+\\.json)`");
            Assert.True(match.Success, "docs/capacity.md does not name its bench results file");
            return match.Groups[1].Value;
        }
    }

    public static CapacityModel Model() =>
        new(BenchFigures.Load(Path.Combine(Root, CapacityInput), CapacityInput), new DesignTargets());

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Makefile")) && Directory.Exists(Path.Combine(dir.FullName, "deploy/k8s")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
