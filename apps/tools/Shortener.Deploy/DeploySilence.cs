using System.Net.Http.Json;
using System.Text.Json;

namespace Shortener.Deploy;

/// <summary>
/// The deploy window's Alertmanager silence, with the matchers of
/// observability/alertmanager/silence-deploy.sh: only the per-instance alerts a rolling deploy sets off
/// on purpose (TargetDown, InstanceNotReady of api/worker). SLO alerts stay live.
/// </summary>
public sealed class DeploySilence(HttpClient alertmanager)
{
    public async Task<string> CreateAsync(string releaseName, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        using var response = await alertmanager.PostAsJsonAsync("/api/v2/silences", new
        {
            matchers = new object[]
            {
                new { name = "alertname", value = "TargetDown|InstanceNotReady", isRegex = true, isEqual = true },
                new { name = "service", value = "api|worker", isRegex = true, isEqual = true },
            },
            startsAt = now,
            endsAt = now + duration,
            createdBy = "shortener-deploy",
            comment = $"deploy {releaseName}",
        }, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("silenceID").GetString()!;
    }

    public async Task ExpireAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await alertmanager.DeleteAsync($"/api/v2/silence/{Uri.EscapeDataString(id)}", cancellationToken);
        response.EnsureSuccessStatusCode();
    }
}
