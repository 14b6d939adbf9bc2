using Npgsql;
using NpgsqlTypes;
using Shortener.Api.Redirects;

namespace Shortener.Api.Links;

/// <summary>
/// The links table, through plain SQL on the shared NpgsqlDataSource. Every management read and write takes an
/// owner scope: null for an admin (every link), else only that owner's links. Another owner's link is simply not
/// found, so codes cannot be enumerated through the API.
/// </summary>
public sealed class LinkStore(NpgsqlDataSource dataSource)
{
    private const string LinkColumns = "id, code, target_url, permanent, created_at, expires_at, deleted_at, owner, version";
    private const string InScope = "(@owner::text IS NULL OR owner = @owner)";

    /// <summary>Inserts the link; null when the code is already taken (live or deleted: codes are never reused).</summary>
    public async Task<Link?> TryCreateAsync(string code, string targetUrl, bool permanent, DateTimeOffset? expiresAt,
        long? createdBy, string? owner, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO links (code, target_url, permanent, expires_at, created_by, owner)
            VALUES (@code, @url, @permanent, @expires, @createdBy, @owner)
            ON CONFLICT (code) DO NOTHING
            RETURNING {LinkColumns}
            """);
        command.Parameters.AddWithValue("code", code);
        command.Parameters.AddWithValue("url", targetUrl);
        command.Parameters.AddWithValue("permanent", permanent);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("expires", NpgsqlDbType.TimestampTz) { TypedValue = expiresAt });
        command.Parameters.Add(new NpgsqlParameter<long?>("createdBy", NpgsqlDbType.Bigint) { TypedValue = createdBy });
        AddOwner(command, owner);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    public async Task<Link?> FindAsync(string code, string? owner, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {LinkColumns} FROM links WHERE code = @code AND {InScope}");
        command.Parameters.AddWithValue("code", code);
        AddOwner(command, owner);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    /// <summary>The redirect lookup: an index-only scan of links_code.</summary>
    public async Task<LinkTarget> FindTargetAsync(string code, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT target_url, permanent, expires_at, deleted_at IS NOT NULL, version FROM links WHERE code = @code");
        command.Parameters.AddWithValue("code", code);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return LinkTarget.Unknown;
        return new LinkTarget(
            reader.GetString(0),
            reader.GetBoolean(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetBoolean(3),
            reader.GetInt64(4));
    }

    /// <summary>Soft delete of a live link in scope; returns it as deleted, or null when there was nothing to delete.</summary>
    public async Task<Link?> DeleteAsync(string code, string? owner, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE links SET deleted_at = now(), version = version + 1
            WHERE code = @code AND deleted_at IS NULL AND {InScope}
            RETURNING {LinkColumns}
            """);
        command.Parameters.AddWithValue("code", code);
        AddOwner(command, owner);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    /// <summary>Changes the target, the expiry or the redirect kind of a live link in scope; null when there is none.</summary>
    public async Task<Link?> UpdateAsync(string code, string? owner, string? targetUrl, bool clearExpiry, DateTimeOffset? expiresAt,
        bool? permanent, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE links SET
                target_url = coalesce(@url, target_url),
                expires_at = CASE WHEN @clearExpiry THEN NULL ELSE coalesce(@expires, expires_at) END,
                permanent = coalesce(@permanent, permanent),
                version = version + 1
            WHERE code = @code AND deleted_at IS NULL AND {InScope}
            RETURNING {LinkColumns}
            """);
        command.Parameters.AddWithValue("code", code);
        command.Parameters.Add(new NpgsqlParameter<string?>("url", NpgsqlDbType.Text) { TypedValue = targetUrl });
        command.Parameters.AddWithValue("clearExpiry", clearExpiry);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("expires", NpgsqlDbType.TimestampTz) { TypedValue = expiresAt });
        command.Parameters.Add(new NpgsqlParameter<bool?>("permanent", NpgsqlDbType.Boolean) { TypedValue = permanent });
        AddOwner(command, owner);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    /// <summary>
    /// Keyset pagination over live links in scope, newest first: cost is independent of the page number.
    /// With <paramref name="query"/>, only links whose code starts with it (case-sensitive) or whose target URL contains it
    /// (case-insensitive, ILIKE with %, _ and \ escaped so they match themselves).
    /// Cost of a search, plainly: no index serves it. It is a filtered scan of the owner's live links in id order
    /// (links_live_by_owner; for an admin, of every live link through links_live_by_id), testing each row until the page
    /// is full. A query matching often stops early; one matching rarely or never reads every live link of the owner on
    /// every page: O(owner's links) rows per request, not O(page size). If owners grow large, a pg_trgm GIN index on
    /// target_url (with links_code for the prefix) would let PostgreSQL answer it as a bitmap OR instead.
    /// </summary>
    public async Task<(IReadOnlyList<Link> Items, long? NextAfterId)> ListAsync(string? owner, long? beforeId, int limit, string? query,
        CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {LinkColumns} FROM links
            WHERE deleted_at IS NULL AND {InScope} AND (@before::bigint IS NULL OR id < @before)
              AND (@prefix::text IS NULL OR code LIKE @prefix ESCAPE '\' OR target_url ILIKE @contains ESCAPE '\')
            ORDER BY id DESC
            LIMIT @limit
            """);
        command.Parameters.Add(new NpgsqlParameter<long?>("before", NpgsqlDbType.Bigint) { TypedValue = beforeId });
        command.Parameters.AddWithValue("limit", limit + 1);
        var escaped = query is null ? null : EscapeLike(query);
        command.Parameters.Add(new NpgsqlParameter<string?>("prefix", NpgsqlDbType.Text) { TypedValue = escaped is null ? null : escaped + "%" });
        command.Parameters.Add(new NpgsqlParameter<string?>("contains", NpgsqlDbType.Text) { TypedValue = escaped is null ? null : "%" + escaped + "%" });
        AddOwner(command, owner);
        var items = new List<Link>(limit + 1);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) items.Add(ReadLink(reader));
        }
        if (items.Count <= limit) return (items, null);
        items.RemoveAt(limit);
        return (items, items[^1].Id);
    }

    /// <summary>A LIKE pattern that matches <paramref name="text"/> literally (with ESCAPE '\').</summary>
    internal static string EscapeLike(string text) => text
        .Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("%", "\\%", StringComparison.Ordinal)
        .Replace("_", "\\_", StringComparison.Ordinal);

    /// <summary>
    /// Clicks per UTC day since <paramref name="since"/>, the all-time total, and over the same days the clicks by
    /// referrer host and by browser family (top <see cref="ClickBreakdown.Top"/>, then the rest as one "(other)" item).
    /// One round trip in one read-only REPEATABLE READ snapshot, so the breakdowns add up to the per-day series even
    /// while the worker commits.
    /// </summary>
    public async Task<LinkClicks> ClicksAsync(string code, DateOnly since, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var total = new NpgsqlBatchCommand("SELECT coalesce(sum(clicks), 0)::bigint FROM link_clicks_daily WHERE code = @code");
        total.Parameters.AddWithValue("code", code);
        var perDay = new NpgsqlBatchCommand("SELECT day, clicks FROM link_clicks_daily WHERE code = @code AND day >= @since ORDER BY day");
        perDay.Parameters.AddWithValue("code", code);
        perDay.Parameters.AddWithValue("since", since);
        batch.BatchCommands.Add(total);
        batch.BatchCommands.Add(perDay);
        batch.BatchCommands.Add(Breakdown("referrer_host", code, since));
        batch.BatchCommands.Add(Breakdown("browser", code, since));

        var days = new List<DailyClicks>();
        var byReferrer = new List<ReferrerClicks>();
        var byBrowser = new List<BrowserClicks>();
        long sum;
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            sum = reader.GetInt64(0);
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct)) days.Add(new DailyClicks(reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1)));
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                // '' is how the worker stores "no referrer" (it is part of the primary key); the API says null.
                var name = reader.GetInt64(2) > ClickBreakdown.Top ? ClickBreakdown.Other : reader.GetString(0);
                byReferrer.Add(new ReferrerClicks(name.Length == 0 ? null : name, reader.GetInt64(1)));
            }
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var name = reader.GetInt64(2) > ClickBreakdown.Top ? ClickBreakdown.Other : reader.GetString(0);
                byBrowser.Add(new BrowserClicks(name, reader.GetInt64(1)));
            }
        }
        await transaction.CommitAsync(ct);
        return new LinkClicks(sum, days, byReferrer, byBrowser);
    }

    /// <summary>
    /// Clicks by one column of link_clicks_by_source over the window: ranked by clicks descending then by name (byte
    /// order, so '' = direct comes first among equals), the first <see cref="ClickBreakdown.Top"/> as they are, the rest
    /// summed into one row ranked Top + 1 (absent when there is no rest). Reads the code's (code, day) primary-key range
    /// and groups in PostgreSQL: one row per distinct value crosses the wire at most 11 times, however many hosts.
    /// </summary>
    private static NpgsqlBatchCommand Breakdown(string column, string code, DateOnly since)
    {
        // The column name is spliced into the SQL: only these two constants, never input.
        if (column is not ("referrer_host" or "browser")) throw new ArgumentOutOfRangeException(nameof(column));
        var command = new NpgsqlBatchCommand($"""
            WITH per AS (
                SELECT {column} AS name, sum(clicks)::bigint AS clicks
                FROM link_clicks_by_source
                WHERE code = @code AND day >= @since
                GROUP BY {column}
            ), ranked AS (
                SELECT name, clicks, row_number() OVER (ORDER BY clicks DESC, name) AS rank FROM per
            )
            SELECT name, clicks, rank FROM ranked WHERE rank <= @top
            UNION ALL
            SELECT NULL, sum(clicks)::bigint, @top + 1 FROM ranked WHERE rank > @top HAVING count(*) > 0
            ORDER BY rank
            """);
        command.Parameters.AddWithValue("code", code);
        command.Parameters.AddWithValue("since", since);
        command.Parameters.AddWithValue("top", (long)ClickBreakdown.Top);
        return command;
    }

    private static void AddOwner(NpgsqlCommand command, string? owner) =>
        command.Parameters.Add(new NpgsqlParameter<string?>("owner", NpgsqlDbType.Text) { TypedValue = owner });

    private static Link ReadLink(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetBoolean(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.GetInt64(8));
}

public sealed record LinkClicks(long Total, IReadOnlyList<DailyClicks> Days, IReadOnlyList<ReferrerClicks> ByReferrer, IReadOnlyList<BrowserClicks> ByBrowser);
