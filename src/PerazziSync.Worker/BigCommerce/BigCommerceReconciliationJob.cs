using Dapper;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Contracts;
using PerazziSync.Data;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Lists the orders and customers modified since the stored watermark (minus an overlap) and
/// enqueues them like callbacks, so a missed or deactivated webhook heals without an operator.
/// Where a quiet subscription left a gap that began earlier (<see cref="ReconcileGaps"/>), the
/// listing starts there instead and closes the gap.
/// </summary>
[DisallowConcurrentExecution]
public sealed class BigCommerceReconciliationJob(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
    IPublishEndpoint publisher,
    IOptions<BigCommerceOptions> apiOptions,
    IOptions<BigCommerceSyncOptions> syncOptions,
    TimeProvider time,
    ILogger<BigCommerceReconciliationJob> logger) : IJob
{
    public static readonly JobKey Key = new("bigcommerce-reconcile");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            WorkerLog.FiringTaken(logger, Key.Name, scheduledAt);
            return;
        }
        var store = apiOptions.Value.StoreHash!;
        var firing = $"reconcile:{scheduledAt.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";

        var orders = await EnqueueAsync("order", since => bigCommerce.ListOrdersModifiedSinceAsync(since, cancellationToken),
            entity => new BigCommerceOrderChanged(store, entity.Id, "reconcile", firing, entity.ListedAt), cancellationToken);
        var customers = await EnqueueAsync("customer", since => bigCommerce.ListCustomersModifiedSinceAsync(since, cancellationToken),
            entity => new BigCommerceCustomerChanged(store, entity.Id, "reconcile", firing, entity.ListedAt), cancellationToken);
        WorkerLog.Reconciled(logger, store, orders, customers);
    }

    async Task<int> EnqueueAsync<T>(
        string entityType,
        Func<DateTimeOffset, IAsyncEnumerable<ModifiedEntity>> list,
        Func<ModifiedEntity, T> message,
        CancellationToken cancellationToken) where T : class
    {
        var store = apiOptions.Value.StoreHash!;
        var settings = syncOptions.Value;
        var startedAt = time.GetUtcNow();
        var watermark = await ReadWatermarkAsync(store, entityType, cancellationToken);
        var since = watermark is { } stored ? stored - settings.ReconcileOverlap : time.GetUtcNow() - settings.ReconcileFirstLookback;
        var gap = await ReconcileGaps.SinceAsync(database, store, entityType, cancellationToken);
        if (gap is { } quiet && quiet < since)
        {
            since = quiet;
            WorkerLog.ReconcilingGap(logger, entityType, since);
        }

        var count = 0;
        DateTimeOffset? newest = watermark;
        await foreach (var entity in list(since))
        {
            await publisher.Publish(message(entity), cancellationToken);
            count++;
            if (entity.DateModified is { } modified && (newest is null || modified > newest))
            {
                newest = modified;
            }
        }
        // Only after everything listed is on the broker: a crash before this point means the
        // next firing lists the same entities again, which the idempotent consumers absorb.
        if (newest is { } advanced && advanced != watermark)
        {
            await WriteWatermarkAsync(store, entityType, advanced, cancellationToken);
        }
        if (gap is not null)
        {
            await ReconcileGaps.CloseAsync(database, store, entityType, since, startedAt, cancellationToken);
        }
        return count;
    }

    async Task<DateTimeOffset?> ReadWatermarkAsync(string store, string entityType, CancellationToken cancellationToken)
    {
        const string sql = """
            select modified_since from perazzi_sync.reconcile_watermarks
            where store_hash = @StoreHash and entity_type = @EntityType
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var at = await connection.QueryFirstOrDefaultAsync<DateTime?>(new CommandDefinition(
            sql, new { StoreHash = store, EntityType = entityType }, cancellationToken: cancellationToken));
        return at is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;
    }

    async Task WriteWatermarkAsync(string store, string entityType, DateTimeOffset watermark, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.reconcile_watermarks as w (store_hash, entity_type, modified_since)
            values (@StoreHash, @EntityType, @Watermark)
            on conflict (store_hash, entity_type) do update set
              modified_since = greatest(w.modified_since, excluded.modified_since)
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            sql, new { StoreHash = store, EntityType = entityType, Watermark = watermark.UtcDateTime }, cancellationToken: cancellationToken));
    }
}
