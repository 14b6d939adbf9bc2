using Npgsql;
using NpgsqlTypes;
using Shortener.Contracts;

namespace Shortener.Worker;

/// <summary>
/// Counts click batches into link_clicks_daily exactly once per batch id: one statement inserts the batch ids into
/// the idempotency ledger and adds only the counts of the newly inserted batches to the daily counters, atomically.
/// One ledger row per batch (a flush of one API process), however many clicks it carries. The same statement adds the
/// counts per (code, day, referrer host, browser family) to link_clicks_by_source (migration 0004).
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
            SELECT * FROM unnest(@row_batches, @codes, @days, @referrers, @browsers, @clicks)
                AS c(batch_id, code, day, referrer_host, browser, clicks)
        ), fresh_counts AS (
            SELECT c.* FROM counts c JOIN fresh f USING (batch_id)
        ), counted AS (
            SELECT code, day, sum(clicks)::bigint AS clicks
            FROM fresh_counts
            GROUP BY code, day
            ORDER BY code, day  -- a stable lock order keeps concurrent workers from deadlocking
        ), upserted AS (
            INSERT INTO link_clicks_daily AS d (code, day, clicks)
            SELECT code, day, clicks FROM counted
            ON CONFLICT (code, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks
        ), by_source AS (
            -- The same fresh rows as link_clicks_daily, in the same statement (so the same transaction): per (code, day)
            -- the sum of link_clicks_by_source equals link_clicks_daily, and a redelivered batch adds to neither.
            INSERT INTO link_clicks_by_source AS s (code, day, referrer_host, browser, clicks)
            SELECT code, day, referrer_host, browser, sum(clicks)::bigint
            FROM fresh_counts
            GROUP BY code, day, referrer_host, browser
            ORDER BY code, day, referrer_host, browser
            ON CONFLICT (code, day, referrer_host, browser) DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks
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
        var referrers = new string[rows];
        var browsers = new string[rows];
        var clicks = new long[rows];
        var i = 0;
        foreach (var batch in batches)
        {
            foreach (var (key, count) in batch.Counts)
            {
                rowBatches[i] = batch.BatchId;
                codes[i] = key.Code;
                days[i] = key.Day;
                // '' for no referrer: the column is part of the primary key, so it cannot be NULL.
                referrers[i] = Storable(key.ReferrerHost ?? "");
                browsers[i] = Storable(key.UserAgentFamily);
                clicks[i] = count;
                i++;
            }
        }

        await using var command = dataSource.CreateCommand(AggregateSql);
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("batch_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = batchIds });
        command.Parameters.Add(new NpgsqlParameter<Guid[]>("row_batches", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = rowBatches });
        command.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = codes });
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]>("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = days });
        command.Parameters.Add(new NpgsqlParameter<string[]>("referrers", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = referrers });
        command.Parameters.Add(new NpgsqlParameter<string[]>("browsers", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = browsers });
        command.Parameters.Add(new NpgsqlParameter<long[]>("clicks", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = clicks });
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// The API sends ASCII hosts (IdnHost) and fixed family names, but a stream entry is outside input: a NUL (refused by
    /// PostgreSQL) or a surrogate half left by the parser's truncation (refused by the UTF-8 encoder) would make the whole
    /// batch, daily counts included, fail and be dead-lettered. Such characters become U+FFFD instead.
    /// </summary>
    private static string Storable(string value)
    {
        foreach (var c in value)
        {
            if (c == '\0' || char.IsSurrogate(c))
            {
                return string.Create(value.Length, value, static (span, v) =>
                {
                    for (var j = 0; j < v.Length; j++) span[j] = v[j] == '\0' || char.IsSurrogate(v[j]) ? '\uFFFD' : v[j];
                });
            }
        }
        return value;
    }

    /// <summary>
    /// Forgets batch ids processed more than <paramref name="retention"/> before the oldest stream entry that can still be
    /// delivered (<paramref name="oldestDeliverable"/>, null if none) or before now, whichever is earlier: that entry may
    /// carry any batch processed less than the retention before it (a redelivery, or an API's late retry).
    /// In chunks until none is left: the ledger grows with flushes, not clicks, so a pass deletes what a minute of
    /// flushes added.
    /// Only the ledger: link_clicks_daily and link_clicks_by_source are the statistics themselves, kept like each other
    /// (the stats read up to 366 days back, the total all time); pruning them with the ledger's retention would lose
    /// counts, and pruning one without the other would break "per day, the breakdown sums to the daily count".
    /// </summary>
    public async Task<long> PruneAsync(TimeSpan retention, DateTimeOffset? oldestDeliverable, CancellationToken ct)
    {
        const int Chunk = 50_000;
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand($"""
                DELETE FROM processed_click_batches
                WHERE batch_id IN (
                    SELECT batch_id FROM processed_click_batches
                    WHERE processed_at < least(coalesce(@oldest_deliverable, now()), now()) - @retention LIMIT {Chunk})
                """);
            command.Parameters.AddWithValue("retention", retention);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("oldest_deliverable", NpgsqlDbType.TimestampTz) { TypedValue = oldestDeliverable });
            var deleted = await command.ExecuteNonQueryAsync(ct);
            total += deleted;
            if (deleted < Chunk) return total;
        }
    }
}
