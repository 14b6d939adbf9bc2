using System.Text.Json;

namespace Shortener.Deploy;

/// <summary>
/// The VM's record of releases (a directory): <c>current.json</c> is the release serving now, the
/// one a failed deploy rolls back to; <c>history.jsonl</c> has one line per deploy attempt.
/// </summary>
public sealed class ReleaseHistory(string directory)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);

    private string CurrentPath => Path.Combine(directory, "current.json");

    public Release? Current =>
        File.Exists(CurrentPath) ? JsonSerializer.Deserialize<ReleaseRecord>(File.ReadAllText(CurrentPath), s_json)!.ToRelease() : null;

    public void Record(Release attempted, DeployOutcome outcome, string detail, TimeSpan took)
    {
        Directory.CreateDirectory(directory);
        var line = JsonSerializer.Serialize(new
        {
            at = DateTimeOffset.UtcNow,
            release = ReleaseRecord.From(attempted),
            outcome,
            detail,
            seconds = Math.Round(took.TotalSeconds, 2),
        }, s_json);
        File.AppendAllLines(Path.Combine(directory, "history.jsonl"), [line]);
        if (outcome == DeployOutcome.Deployed)
        {
            // Write then rename: a crash never leaves a half-written current.json.
            var temporary = CurrentPath + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(ReleaseRecord.From(attempted), s_json));
            File.Move(temporary, CurrentPath, overwrite: true);
        }
    }
}
