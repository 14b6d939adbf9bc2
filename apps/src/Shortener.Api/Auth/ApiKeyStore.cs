using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Shortener.Api.Auth;

/// <summary>The caller behind a verified key: links belong to the owner, admins see everything.</summary>
public sealed record ApiKeyIdentity(long Id, string Name, string Owner, bool IsAdmin);

public sealed record ApiKeyInfo(long Id, string Name, string Owner, bool Admin, DateTimeOffset CreatedAt);

public sealed record CreatedApiKey(long Id, string Name, string Owner, bool Admin, string Key);

/// <summary>
/// API keys, stored as SHA-256 hashes only. Verified keys are cached briefly so authentication is not a database
/// query per request (a revoked key stops working within <see cref="AuthOptions.KeyCacheTtl"/>); unknown keys are
/// remembered in a separate, smaller budget so a flood of guesses can neither grow memory nor evict real keys.
/// </summary>
public sealed class ApiKeyStore(NpgsqlDataSource dataSource, IOptions<AuthOptions> options) : IDisposable
{
    private const string KeyPrefix = "sk_";
    private static readonly TimeSpan s_unknownKeyTtl = TimeSpan.FromSeconds(5);
    private readonly MemoryCache _known = new(new MemoryCacheOptions { SizeLimit = options.Value.KeyCacheSize });
    private readonly MemoryCache _unknown = new(new MemoryCacheOptions { SizeLimit = options.Value.UnknownKeyCacheSize });
    private volatile bool _bootstrapPending =
        !string.IsNullOrWhiteSpace(options.Value.BootstrapApiKey) || !string.IsNullOrWhiteSpace(options.Value.BootstrapApiKeyFile);

    /// <summary>
    /// A bootstrap key is configured but not stored yet (PostgreSQL still starting): until it is, a key that is
    /// not found may be that key, so not finding one is not yet a failed authentication.
    /// </summary>
    public bool BootstrapPending => _bootstrapPending;

    public static string NewKey() => KeyPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Entries held in memory (both budgets), for tests and diagnostics.</summary>
    public long CachedEntries => _known.Count + _unknown.Count;

    /// <summary>A verified key from memory, without asking PostgreSQL; null when not known to be valid.</summary>
    public ApiKeyIdentity? FindCached(string key) =>
        _known.TryGetValue(CacheKey(Hash(key)), out ApiKeyIdentity? identity) ? identity : null;

    public async Task<ApiKeyIdentity?> FindAsync(string key, CancellationToken ct)
    {
        var hash = Hash(key);
        var cacheKey = CacheKey(hash);
        var bootstrapPending = _bootstrapPending; // read before the query: a key stored after it is not "unknown"
        if (_known.TryGetValue(cacheKey, out ApiKeyIdentity? cached)) return cached;
        if (_unknown.TryGetValue(cacheKey, out _)) return null;

        await using var command = dataSource.CreateCommand(
            "SELECT id, name, owner, is_admin FROM api_keys WHERE key_hash = @hash AND revoked_at IS NULL");
        command.Parameters.AddWithValue("hash", hash);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            if (bootstrapPending) return null;
            _unknown.Set(cacheKey, true, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = s_unknownKeyTtl, Size = 1 });
            return null;
        }
        var identity = new ApiKeyIdentity(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3));
        _known.Set(cacheKey, identity, new MemoryCacheEntryOptions { AbsoluteExpirationRelativeToNow = options.Value.KeyCacheTtl, Size = 1 });
        return identity;
    }

    public async Task<CreatedApiKey?> CreateAsync(string name, string owner, bool isAdmin, CancellationToken ct)
    {
        var key = NewKey();
        await using var command = dataSource.CreateCommand("""
            INSERT INTO api_keys (name, owner, key_hash, is_admin) VALUES (@name, @owner, @hash, @admin)
            ON CONFLICT (name) WHERE revoked_at IS NULL DO NOTHING
            RETURNING id
            """);
        command.Parameters.AddWithValue("name", name);
        command.Parameters.AddWithValue("owner", owner);
        command.Parameters.AddWithValue("hash", Hash(key));
        command.Parameters.AddWithValue("admin", isAdmin);
        return await command.ExecuteScalarAsync(ct) is long id ? new CreatedApiKey(id, name, owner, isAdmin, key) : null;
    }

    /// <summary>Active keys, oldest first (there are few: one per person or system).</summary>
    public async Task<IReadOnlyList<ApiKeyInfo>> ListAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, name, owner, is_admin, created_at FROM api_keys WHERE revoked_at IS NULL ORDER BY id LIMIT 1000");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var keys = new List<ApiKeyInfo>();
        while (await reader.ReadAsync(ct))
        {
            keys.Add(new ApiKeyInfo(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }
        return keys;
    }

    public async Task<bool> RevokeAsync(long id, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE api_keys SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL RETURNING key_hash");
        command.Parameters.AddWithValue("id", id);
        if (await command.ExecuteScalarAsync(ct) is not byte[] hash) return false;
        // This replica stops accepting the key at once; the others within KeyCacheTtl.
        _known.Remove(CacheKey(hash));
        return true;
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
            "INSERT INTO api_keys (name, owner, key_hash, is_admin) VALUES ('bootstrap', 'bootstrap', @hash, true) ON CONFLICT DO NOTHING");
        insert.Parameters.AddWithValue("hash", hash);
        batch.BatchCommands.Add(revoke);
        batch.BatchCommands.Add(insert);
        await batch.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
        _unknown.Remove(CacheKey(hash));
        _bootstrapPending = false;
    }

    public void Dispose()
    {
        _known.Dispose();
        _unknown.Dispose();
    }

    private static string CacheKey(byte[] hash) => Convert.ToHexString(hash);
}
