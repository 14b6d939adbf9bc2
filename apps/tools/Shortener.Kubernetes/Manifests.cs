using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Shortener.Kubernetes;

/// <summary>The autoscaling and resource settings as written in deploy/k8s/base (read, never assumed).</summary>
public sealed class Manifests
{
    private readonly string _baseDir;

    public Manifests(string k8sDir) => _baseDir = Path.Combine(k8sDir, "base");

    public static YamlMappingNode Find(string file, string kind, string name)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(file)) stream.Load(reader);
        return stream.Documents.Select(d => (YamlMappingNode)d.RootNode)
            .FirstOrDefault(d => Text(d, "kind") == kind && Text(d, "metadata", "name") == name)
            ?? throw new InvalidDataException($"{file}: no {kind} {name}");
    }

    public static YamlNode? At(YamlNode node, params object[] path)
    {
        foreach (var step in path)
        {
            node = step switch
            {
                string key when node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) => child,
                int index when node is YamlSequenceNode seq && index < seq.Children.Count => seq.Children[index],
                _ => null!,
            };
            if (node is null) return null;
        }
        return node;
    }

    public static string? Text(YamlNode node, params object[] path) => (At(node, path) as YamlScalarNode)?.Value;

    public static int Whole(YamlNode node, params object[] path) =>
        int.Parse(Text(node, path) ?? throw new InvalidDataException($"missing {string.Join('.', path)}"), CultureInfo.InvariantCulture);

    public YamlMappingNode ScaledObject(string name) => Find(Path.Combine(_baseDir, name, "scaledobject.yaml"), "ScaledObject", name);

    public YamlMappingNode Deployment(string name) => Find(Path.Combine(_baseDir, name, "deployment.yaml"), "Deployment", name);

    public AutoscalerSpec Autoscaler(string name)
    {
        var so = ScaledObject(name);
        var behavior = At(so, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")
            ?? throw new InvalidDataException($"ScaledObject {name} sets no HPA behavior");
        ScalingRules Rules(string direction)
        {
            var rules = At(behavior, direction)!;
            var policies = ((YamlSequenceNode)At(rules, "policies")!).Children
                .Select(p => new ScalingPolicy(Text(p, "type")!, Whole(p, "value"), Whole(p, "periodSeconds"))).ToList();
            return new ScalingRules(Whole(rules, "stabilizationWindowSeconds"), Text(rules, "selectPolicy") ?? "Max", policies);
        }
        return new AutoscalerSpec(Whole(so, "spec", "minReplicaCount"), Whole(so, "spec", "maxReplicaCount"), Rules("scaleUp"), Rules("scaleDown"));
    }

    /// <summary>A trigger's metadata value, e.g. Trigger("worker", "redis-streams", "lagCount").</summary>
    public string TriggerValue(string scaledObject, string type, string key)
    {
        var triggers = (YamlSequenceNode)At(ScaledObject(scaledObject), "spec", "triggers")!;
        var trigger = triggers.Children.First(t => Text(t, "type") == type);
        return Text(trigger, "metadata", key) ?? throw new InvalidDataException($"{type} trigger has no {key}");
    }

    public PodResources Resources(string deployment)
    {
        var resources = At(Deployment(deployment), "spec", "template", "spec", "containers", 0, "resources")!;
        return new PodResources(
            Millicores(Text(resources, "requests", "cpu")!), Millicores(Text(resources, "limits", "cpu")!),
            Mebibytes(Text(resources, "requests", "memory")!), Mebibytes(Text(resources, "limits", "memory")!));
    }

    private static int Millicores(string quantity) => quantity.EndsWith('m')
        ? int.Parse(quantity[..^1], CultureInfo.InvariantCulture)
        : (int)(double.Parse(quantity, CultureInfo.InvariantCulture) * 1000);

    private static int Mebibytes(string quantity) => quantity.EndsWith("Mi", StringComparison.Ordinal)
        ? int.Parse(quantity[..^2], CultureInfo.InvariantCulture)
        : quantity.EndsWith("Gi", StringComparison.Ordinal) ? int.Parse(quantity[..^2], CultureInfo.InvariantCulture) * 1024
        : throw new InvalidDataException($"memory quantity {quantity}: use Mi or Gi");
}
