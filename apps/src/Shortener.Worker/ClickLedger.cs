using System.Runtime.InteropServices;
using Npgsql;
using NpgsqlTypes;
using Shortener.Contracts;

namespace Shortener.Worker;

/// <summary>
/// Counts click batches into link_clicks_daily and link_clicks_by_source (migration 0004) exactly once per batch id, in
/// one transaction: the batch ids go into the idempotency ledger first, and only the batches whose ids were new are added.
/// One ledger row per batch (a flush of one API process), however many clicks it carries.
/// The counts of the new batches are summed here, per key, before they are sent: a read of many flushes carries the same
/// keys many times (2,000 entries of the bench's uniform traffic: 442,000 key rows, 100,000 distinct), and PostgreSQL's
/// cost is per row it unnests, sorts and upserts.
/// </summary>
public sealed class ClickLedger(NpgsqlDataSource dataSource)
{
    // ORDER BY: two workers holding the same batch ids (a reclaim while the first still counts) lock them in one order;
    // in read order they deadlocked (ClickAggregatorTests.TwoWorkersCountingTheSameBatchesAtOnce...).
    private const string LedgerSql = """
        INSERT INTO processed_click_batches (batch_id)
        SELECT id FROM unnest(@batch_ids) AS b(id)
        ORDER BY id
        ON CONFLICT (batch_id) DO NOTHING
        RETURNING batch_id
        """;

    // ORDER BY: a stable lock order keeps concurrent workers from deadlocking.
    private const string DailySql = """
        INSERT INTO link_clicks_daily AS d (code, day, clicks)
        SELECT code, day, clicks FROM unnest(@codes, @days, @clicks) AS c(code, day, clicks)
        ORDER BY code, day
        ON CONFLICT (code, day) DO UPDATE SET clicks = d.clicks + EXCLUDED.clicks
        """;

    // The same new batches as link_clicks_daily, in the same transaction: per (code, day) the sum of
    // link_clicks_by_source equals link_clicks_daily, and a redelivered batch adds to neither.
    private const string BySourceSql = """
        INSERT INTO link_clicks_by_source AS s (code, day, referrer_host, browser, clicks)
        SELECT code, day, referrer_host, browser, clicks
        FROM unnest(@codes, @days, @referrers, @browsers, @clicks) AS c(code, day, referrer_host, browser, clicks)
        ORDER BY code, day, referrer_host, browser
        ON CONFLICT (code, day, referrer_host, browser) DO UPDATE SET clicks = s.clicks + EXCLUDED.clicks
        """;

    /// <summary>Returns how many clicks were new (the rest belonged to batches counted before). Batch ids must be distinct.</summary>
    public async Task<long> AggregateAsync(IReadOnlyCollection<ClickBatch> batches, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        var fresh = new HashSet<Guid>(batches.Count);
        await using (var ledger = new NpgsqlCommand(LedgerSql, connection, transaction))
        {
            ledger.Parameters.Add(new NpgsqlParameter<Guid[]>("batch_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { TypedValue = [.. batches.Select(b => b.BatchId)] });
            await using var reader = await ledger.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) fresh.Add(reader.GetGuid(0));
        }

        var bySource = new Dictionary<(string Code, DateOnly Day, string Referrer, string Browser), long>();
        var daily = new Dictionary<(string Code, DateOnly Day), long>();
        long total = 0;
        foreach (var batch in batches)
        {
            if (!fresh.Contains(batch.BatchId)) continue;
            foreach (var (key, count) in batch.Counts)
            {
                // '' for no referrer: the column is part of the primary key, so it cannot be NULL.
                var source = (key.Code, key.Day, Storable(key.ReferrerHost ?? ""), Storable(key.UserAgentFamily));
                CollectionsMarshal.GetValueRefOrAddDefault(bySource, source, out _) += count;
                CollectionsMarshal.GetValueRefOrAddDefault(daily, (key.Code, key.Day), out _) += count;
                total += count;
            }
        }

        if (total > 0)
        {
            await using var upserts = new NpgsqlBatch(connection, transaction);
            var dailyUpsert = new NpgsqlBatchCommand(DailySql);
            dailyUpsert.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. daily.Keys.Select(k => k.Code)] });
            dailyUpsert.Parameters.Add(new NpgsqlParameter<DateOnly[]>("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = [.. daily.Keys.Select(k => k.Day)] });
            dailyUpsert.Parameters.Add(new NpgsqlParameter<long[]>("clicks", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. daily.Values] });
            var sourceUpsert = new NpgsqlBatchCommand(BySourceSql);
            sourceUpsert.Parameters.Add(new NpgsqlParameter<string[]>("codes", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. bySource.Keys.Select(k => k.Code)] });
            sourceUpsert.Parameters.Add(new NpgsqlParameter<DateOnly[]>("days", NpgsqlDbType.Array | NpgsqlDbType.Date) { TypedValue = [.. bySource.Keys.Select(k => k.Day)] });
            sourceUpsert.Parameters.Add(new NpgsqlParameter<string[]>("referrers", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. bySource.Keys.Select(k => k.Referrer)] });
            sourceUpsert.Parameters.Add(new NpgsqlParameter<string[]>("browsers", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. bySource.Keys.Select(k => k.Browser)] });
            sourceUpsert.Parameters.Add(new NpgsqlParameter<long[]>("clicks", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. bySource.Values] });
            upserts.BatchCommands.Add(dailyUpsert);
            upserts.BatchCommands.Add(sourceUpsert);
            await upserts.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return total;
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
