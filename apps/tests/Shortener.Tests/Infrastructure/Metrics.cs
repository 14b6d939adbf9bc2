using System.Globalization;

namespace Shortener.Tests.Infrastructure;

public static class Metrics
{
    /// <summary>
    /// Sum of every series of a counter or gauge on a service's /metrics whose labels contain <paramref name="label"/>
    /// (e.g. <c>tier="database"</c>); 0 when it has not been recorded yet.
    /// </summary>
    public static async Task<double> MetricAsync(HttpClient client, string name, string? label = null)
    {
        var text = await client.GetStringAsync("/metrics");
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length == name.Length || line[name.Length] is not (' ' or '{')) continue;
            if (label is not null && !line.Contains(label, StringComparison.Ordinal)) continue;
            // "name{labels} value [timestamp]": the value follows the closing brace (labels may contain spaces).
            var afterLabels = line[(line.LastIndexOf('}') + 1)..].Trim();
            sum += double.Parse(afterLabels.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
