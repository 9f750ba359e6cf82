using Dapper;
using Npgsql;

namespace PerazziSync.BigCommerce.Sync;

/// <summary>
/// The rule that lets a burst of callbacks for one entity cost one fetch without losing a change
/// (docs/sync-rules.md): a callback may skip its fetch only when a fetch of the same entity
/// started after the callback was received, because that fetch already saw the change it announced.
/// </summary>
public static class Coalescing
{
    /// <summary>Waits until <paramref name="delay"/> after the callback was received, so one fetch covers its burst.</summary>
    public static Task SettleAsync(DateTimeOffset receivedAt, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        var wait = receivedAt + delay - time.GetUtcNow();
        return wait > TimeSpan.Zero ? Task.Delay(wait > delay ? delay : wait, time, cancellationToken) : Task.CompletedTask;
    }

    public static bool IsCovered(DateTimeOffset? lastFetchStartedAt, DateTimeOffset receivedAt, TimeSpan clockSkew) =>
        lastFetchStartedAt is { } startedAt && startedAt > receivedAt + clockSkew;

    /// <summary>When the last applied fetch of the entity started, if any; read on the connection that holds the entity's lock.</summary>
    public static async Task<DateTimeOffset?> LastFetchStartedAsync(
        NpgsqlConnection connection, string storeHash, string entityType, long entityId, CancellationToken cancellationToken)
    {
        const string sql = """
            select fetch_started_at from perazzi_sync.entity_fetches
            where store_hash = @StoreHash and entity_type = @EntityType and entity_id = @EntityId
            """;
        var startedAt = await connection.QueryFirstOrDefaultAsync<DateTime?>(new CommandDefinition(
            sql, new { StoreHash = storeHash, EntityType = entityType, EntityId = entityId }, cancellationToken: cancellationToken));
        return startedAt is { } at ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)) : null;
    }

    /// <summary>Records, with the change it produced, when the applied fetch started.</summary>
    public static Task RecordFetchAsync(
        NpgsqlTransaction transaction, string storeHash, string entityType, long entityId, DateTimeOffset startedAt,
        CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.entity_fetches as f (store_hash, entity_type, entity_id, fetch_started_at)
            values (@StoreHash, @EntityType, @EntityId, @StartedAt)
            on conflict (store_hash, entity_type, entity_id) do update set
              fetch_started_at = greatest(f.fetch_started_at, excluded.fetch_started_at)
            """;
        return transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            StoreHash = storeHash,
            EntityType = entityType,
            EntityId = entityId,
            StartedAt = startedAt.UtcDateTime,
        }, transaction, cancellationToken: cancellationToken));
    }
}
