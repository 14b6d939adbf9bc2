using Shortener.Kubernetes;

// make capacity:  Shortener.Kubernetes capacity BENCH_JSON [--out docs/capacity.md] [--repo DIR]
// make k8s-monitoring: Shortener.Kubernetes monitoring [--repo DIR]   (PrometheusRule and dashboards)
var verb = args.Length > 0 ? args[0] : "";
var repo = Path.GetFullPath(Option("--repo") ?? ".");
switch (verb)
{
    case "capacity" when args.Length > 1 && !args[1].StartsWith('-'):
        var bench = Path.GetFullPath(args[1]);
        var model = new CapacityModel(BenchFigures.Load(bench, Path.GetRelativePath(repo, bench).Replace('\\', '/')), new DesignTargets());
        var manifests = new Manifests(Path.Combine(repo, "deploy/k8s"));
        var markdown = Report.Render(model, manifests);
        if (Option("--out") is { } output) File.WriteAllText(output, markdown);
        else Console.Write(markdown);
        foreach (var (name, derived) in new[] { ("api", model.Api), ("worker", model.Worker) })
        {
            if (manifests.Resources(name) != derived)
            {
                Console.Error.WriteLine($"deploy/k8s/base/{name}/deployment.yaml has {manifests.Resources(name)}; the model derives {derived}: update the manifest and its comment");
            }
        }
        return 0;
    case "monitoring":
        File.WriteAllText(Path.Combine(repo, PrometheusRules.Output), PrometheusRules.Render(repo));
        File.WriteAllText(Path.Combine(repo, GrafanaDashboards.Output), GrafanaDashboards.Render(repo));
        Console.WriteLine($"wrote {PrometheusRules.Output} and {GrafanaDashboards.Output}");
        return 0;
    default:
        Console.Error.WriteLine("usage: Shortener.Kubernetes capacity BENCH_RESULTS_JSON [--out FILE] [--repo DIR] | monitoring [--repo DIR]");
        return 2;
}

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
