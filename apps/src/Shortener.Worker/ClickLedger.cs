using Npgsql;
using NpgsqlTypes;
using Shortener.Contracts;

namespace Shortener.Worker;

/// <summary>
/// Counts clicks into link_clicks_daily exactly once per event id: one statement inserts the batch's ids
/// into the idempotency ledger and adds only the newly inserted ones to the daily counters, atomically.
/// </summary>
public sealed class ClickLedger(NpgsqlDataSource dataSource)
{
    private const string AggregateSql = """
        WITH batch AS (
            SELECT * FROM unnest(@ids, @codes, @days) AS e(event_id, code, day)
        ), fresh AS (
            INSERT INTO processed_click_events (event_id)
            SELECT event_id FROM batch
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
        ), counted AS (
            SELECT b.code, b.day, count(*) AS clicks
            FROM batch b JOIN fresh f USING (event_id)
            GROUP BY b.code, b.day
            ORDER BY b.code, b.day  -- a stable lock order keeps concurrent workers from deadlocking
        ), upserted AS (
            INSERT INTO link_clicks_daily AS d (code, day, clicks)
            SELECT code, day, clicks FROM counted
            ON CONFLICT (code, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks
        )
        SELECT count(*) FROM fresh
        """;

    /// <summary>Returns how many events were new (the rest had been counted before).</summary>
    public async Task<int> AggregateAsync(IReadOnlyCollection<ClickEvent> clicks, CancellationToken ct)
    {
        var ids = new Guid[clicks.Count];
        var codes = new string[clicks.Count];
        var days = new DateOnly[clicks.Count];
        var i = 0;
        foreach (var click in clicks)
        {
            ids[i] = click.EventId;
            codes[i] = click.Code;
            days[i] = DateOnly.FromDateTime(click.OccurredAt.UtcDateTime);
            i++;
        }

        await using var command = dataSource.CreateCommand(AggregateSql);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = codes });
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]>("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = days });
        return Convert.ToInt32(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Forgets event ids older than the retention window, a bounded number at a time.</summary>
    public async Task<int> PruneAsync(TimeSpan retention, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            DELETE FROM processed_click_events
            WHERE event_id IN (
                SELECT event_id FROM processed_click_events WHERE processed_at < now() - @retention LIMIT 50000)
            """);
        command.Parameters.AddWithValue("retention", retention);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
