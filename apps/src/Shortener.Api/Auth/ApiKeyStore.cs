using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Npgsql;

namespace Shortener.Api.Auth;

public sealed record ApiKeyIdentity(long Id, string Name, bool IsAdmin);

public sealed record CreatedApiKey(long Id, string Name, bool IsAdmin, string Key);

/// <summary>
/// API keys, stored as SHA-256 hashes only. Lookups are cached briefly so authentication is not a
/// database query per request; a revoked key stops working within <see cref="CacheFor"/>.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, IMemoryCache cache)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private const string KeyPrefix = "sk_";

    public static string NewKey() => KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public async Task<ApiKeyIdentity?> FindAsync(string key, CancellationToken ct)
    {
        var hash = Hash(key);
        var cacheKey = "apikey:" + Convert.ToHexString(hash);
        if (cache.TryGetValue(cacheKey, out ApiKeyIdentity? cached)) return cached;

        await using var command = dataSource.CreateCommand(
            "SELECT id, name, is_admin FROM api_keys WHERE key_hash = @hash AND revoked_at IS NULL");
        command.Parameters.AddWithValue("hash", hash);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var identity = await reader.ReadAsync(ct) ? new ApiKeyIdentity(reader.GetInt64(0), reader.GetString(1), reader.GetBoolean(2)) : null;
        cache.Set(cacheKey, identity, identity is null ? TimeSpan.FromSeconds(5) : CacheFor);
        return identity;
    }

    public async Task<CreatedApiKey?> CreateAsync(string name, bool isAdmin, CancellationToken ct)
    {
        var key = NewKey();
        await using var command = dataSource.CreateCommand("""
            INSERT INTO api_keys (name, key_hash, is_admin) VALUES (@name, @hash, @admin)
            ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
            RETURNING id
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("hash", Hash(key));
        command.Parameters.AddWithValue("admin", isAdmin);
        return await command.ExecuteScalarAsync(ct) is long id ? new CreatedApiKey(id, name, isAdmin, key) : null;
    }

    public async Task<bool> RevokeAsync(long id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL");
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }

    /// <summary>
    /// Makes <paramref name="key"/> the active "bootstrap" admin key: idempotent across restarts and
    /// replicas, and a rotated bootstrap secret revokes the previous one.
    /// </summary>
    public async Task EnsureBootstrapKeyAsync(string key, CancellationToken ct)
    {
        var hash = Hash(key);
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, transaction);
        var revoke = new NpgsqlBatchCommand(
            "UPDATE api_keys SET revoked_at = now() WHERE name = 'bootstrap' AND revoked_at IS NULL AND key_hash <> @hash");
        revoke.Parameters.AddWithValue("hash", hash);
        // A key revoked by an operator stays revoked, even if the same secret is configured again.
        var insert = new NpgsqlBatchCommand(
            "INSERT INTO api_keys (name, key_hash, is_admin) VALUES ('bootstrap', @hash, true) ON CONFLICT DO NOTHING");
        insert.Parameters.AddWithValue("hash", hash);
        batch.BatchCommands.Add(revoke);
        batch.BatchCommands.Add(insert);
        await batch.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
