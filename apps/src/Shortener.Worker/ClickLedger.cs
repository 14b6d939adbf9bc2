using Npgsql;
using NpgsqlTypes;
using Shortener.Contracts;

namespace Shortener.Worker;

/// <summary>
/// Counts click batches into link_clicks_daily exactly once per batch id: one statement inserts the batch ids into
/// the idempotency ledger and adds only the counts of the newly inserted batches to the daily counters, atomically.
/// One ledger row per batch (a flush of one API process), however many clicks it carries.
/// </summary>
public sealed class ClickLedger(NpgsqlDataSource dataSource)
{
    private const string AggregateSql = """
        WITH fresh AS (
            INSERT INTO processed_click_batches (batch_id)
            SELECT unnest(@batch_ids)
            ON CONFLICT (batch_id) DO NOTHING
            RETURNING batch_id
        ), counts AS (
            SELECT * FROM unnest(@row_batches, @codes, @days, @clicks) AS c(batch_id, code, day, clicks)
        ), counted AS (
            SELECT c.code, c.day, sum(c.clicks)::bigint AS clicks
            FROM counts c JOIN fresh f USING (batch_id)
            GROUP BY c.code, c.day
            ORDER BY c.code, c.day  -- a stable lock order keeps concurrent workers from deadlocking
        ), upserted AS (
            INSERT INTO link_clicks_daily AS d (code, day, clicks)
            SELECT code, day, clicks FROM counted
            ON CONFLICT (code, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks
        )
        SELECT coalesce(sum(clicks), 0)::bigint FROM counted
        """;

    /// <summary>Returns how many clicks were new (the rest belonged to batches counted before). Batch ids must be distinct.</summary>
    public async Task<long> AggregateAsync(IReadOnlyCollection<ClickBatch> batches, CancellationToken ct)
    {
        var batchIds = batches.Select(b => b.BatchId).ToArray();
        var rows = batches.Sum(b => b.Counts.Count);
        var rowBatches = new Guid[rows];
        var codes = new string[rows];
        var days = new DateOnly[rows];
        var clicks = new long[rows];
        var i = 0;
        foreach (var batch in batches)
        {
            foreach (var (key, count) in batch.Counts)
            {
                rowBatches[i] = batch.BatchId;
                codes[i] = key.Code;
                days[i] = key.Day;
                clicks[i] = count;
                i++;
            }
        }

        await using var command = dataSource.CreateCommand(AggregateSql);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("batch_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = batchIds });
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("row_batches", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = rowBatches });
        command.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = codes });
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]>("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = days });
        command.Parameters.Add(new NpgsqlParameter<long[]>("clicks", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = clicks });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Forgets batch ids older than the retention window, in chunks until none is left: the ledger grows with flushes,
    /// not clicks, so a pass deletes what a few minutes of flushes added.
    /// </summary>
    public async Task<long> PruneAsync(TimeSpan retention, CancellationToken ct)
    {
        const int Chunk = 50_000;
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand($"""
                DELETE FROM processed_click_batches
                WHERE batch_id IN (
                    SELECT batch_id FROM processed_click_batches WHERE processed_at < now() - @retention LIMIT {Chunk})
                """);
            command.Parameters.AddWithValue("retention", retention);
            var deleted = await command.ExecuteNonQueryAsync(ct);
            total += deleted;
            if (deleted < Chunk) return total;
        }
    }
}
