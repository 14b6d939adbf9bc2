using Shortener.Capacity;

// make capacity: dotnet run --project apps/tools/Shortener.Capacity -- BENCH_JSON [--out docs/capacity.md] [--repo DIR]
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: Shortener.Capacity BENCH_RESULTS_JSON [--out FILE] [--repo DIR]");
    return 2;
}
var repo = Path.GetFullPath(Option("--repo") ?? ".");
var bench = Path.GetFullPath(args[0]);
var model = new CapacityModel(BenchFigures.Load(bench, Path.GetRelativePath(repo, bench).Replace('\\', '/')), new DesignTargets());
var markdown = Report.Render(model, new Manifests(Path.Combine(repo, "deploy/k8s")));
var output = Option("--out");
if (output is null) Console.Write(markdown);
else File.WriteAllText(output, markdown);

var api = new Manifests(Path.Combine(repo, "deploy/k8s")).Resources("api");
if (api != model.Api) Console.Error.WriteLine($"note: deploy/k8s/base/api/deployment.yaml has {api}, the model derives {model.Api}: update the manifest");
return 0;

string? Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
