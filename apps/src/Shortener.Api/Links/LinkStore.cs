using Npgsql;
using NpgsqlTypes;
using Shortener.Api.Redirects;

namespace Shortener.Api.Links;

/// <summary>The links table, through plain SQL on the shared NpgsqlDataSource.</summary>
public sealed class LinkStore(NpgsqlDataSource dataSource)
{
    private const string LinkColumns = "id, code, target_url, permanent, created_at, expires_at, deleted_at";

    /// <summary>Inserts the link; null when the code is already taken (live or deleted: codes are never reused).</summary>
    public async Task<Link?> TryCreateAsync(string code, string targetUrl, bool permanent, DateTimeOffset? expiresAt, long? createdBy, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO links (code, target_url, permanent, expires_at, created_by)
            VALUES (@code, @url, @permanent, @expires, @createdBy)
            ON CONFLICT (code) DO NOTHING
            RETURNING {LinkColumns}
            """);
        command.Parameters.AddWithValue("code", code);
        command.Parameters.AddWithValue("url", targetUrl);
        command.Parameters.AddWithValue("permanent", permanent);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("expires", NpgsqlDbType.TimestampTz) { TypedValue = expiresAt });
        command.Parameters.Add(new NpgsqlParameter<long?>("createdBy", NpgsqlDbType.Bigint) { TypedValue = createdBy });
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    public async Task<Link?> FindAsync(string code, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"SELECT {LinkColumns} FROM links WHERE code = @code");
        command.Parameters.AddWithValue("code", code);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadLink(reader) : null;
    }

    /// <summary>The redirect lookup: an index-only scan of links_code.</summary>
    public async Task<LinkTarget> FindTargetAsync(string code, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT target_url, permanent, expires_at, deleted_at IS NOT NULL FROM links WHERE code = @code");
        command.Parameters.AddWithValue("code", code);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return LinkTarget.Unknown;
        return new LinkTarget(
            reader.GetString(0),
            reader.GetBoolean(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            reader.GetBoolean(3));
    }

    /// <summary>Soft delete: true when a live link was deleted now.</summary>
    public async Task<bool> DeleteAsync(string code, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE links SET deleted_at = now() WHERE code = @code AND deleted_at IS NULL");
        command.Parameters.AddWithValue("code", code);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>Keyset pagination over live links, newest first: cost is independent of the page number.</summary>
    public async Task<(IReadOnlyList<Link> Items, long? NextAfterId)> ListAsync(long? beforeId, int limit, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {LinkColumns} FROM links
            WHERE deleted_at IS NULL AND (@before::bigint IS NULL OR id < @before)
            ORDER BY id DESC
            LIMIT @limit
            """);
        command.Parameters.Add(new NpgsqlParameter<long?>("before", NpgsqlDbType.Bigint) { TypedValue = beforeId });
        command.Parameters.AddWithValue("limit", limit + 1);
        var items = new List<Link>(limit + 1);
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) items.Add(ReadLink(reader));
        }
        if (items.Count <= limit) return (items, null);
        items.RemoveAt(limit);
        return (items, items[^1].Id);
    }

    /// <summary>Clicks per UTC day over the last <paramref name="days"/> days, and the all-time total.</summary>
    public async Task<(long Total, IReadOnlyList<DailyClicks> Days)> ClicksAsync(string code, DateOnly since, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        var total = new NpgsqlBatchCommand("SELECT coalesce(sum(clicks), 0)::bigint FROM link_clicks_daily WHERE code = @code");
        total.Parameters.AddWithValue("code", code);
        var perDay = new NpgsqlBatchCommand("SELECT day, clicks FROM link_clicks_daily WHERE code = @code AND day >= @since ORDER BY day");
        perDay.Parameters.AddWithValue("code", code);
        perDay.Parameters.AddWithValue("since", since);
        batch.BatchCommands.Add(total);
        batch.BatchCommands.Add(perDay);

        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var sum = reader.GetInt64(0);
        await reader.NextResultAsync(ct);
        var days = new List<DailyClicks>();
        while (await reader.ReadAsync(ct)) days.Add(new DailyClicks(reader.GetFieldValue<DateOnly>(0), reader.GetInt64(1)));
        return (sum, days);
    }

    private static Link ReadLink(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        reader.GetString(1),
        reader.GetString(2),
        reader.GetBoolean(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6));
}
