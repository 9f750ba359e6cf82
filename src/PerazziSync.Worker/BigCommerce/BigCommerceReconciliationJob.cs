using System.Text.Json;
using Dapper;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.ServiceDefaults;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Lists the orders and customers modified since the stored watermark (minus an overlap) and
/// applies them from the listing itself, so a missed or deactivated webhook heals without an
/// operator: orders come 250 a request with their lines embedded and their new customers 50 a
/// request, customers 250 a request; nothing is fetched again one by one. Where a quiet
/// subscription left a gap that began earlier (<see cref="ReconcileGaps"/>), the listing starts
/// there instead and closes the gap. An entity BigCommerce lists malformed fails alone, as its
/// callback would: it is published as a change, which its consumer fetches by itself, fails for
/// good and dead-letters, where <c>perazzisync dlq</c> shows it; the sweep goes on without it.
/// Each malformed version is handed over once (<see cref="HandOffAsync"/>), however many
/// firings list it again within their overlap.
/// </summary>
[DisallowConcurrentExecution]
public sealed class BigCommerceReconciliationJob(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
    OrderApplication orders,
    IPublishEndpoint publisher,
    IOptions<BigCommerceOptions> apiOptions,
    IOptions<BigCommerceSyncOptions> syncOptions,
    TimeProvider time,
    ILogger<BigCommerceReconciliationJob> logger) : IJob
{
    public static readonly JobKey Key = new("bigcommerce-reconcile");

    /// <summary>Orders whose new customers are looked up together.</summary>
    const int OrdersAtOnce = BigCommerceClient.CustomerPageSize;

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

        var orderCount = await SweepAsync(store, "order", since => bigCommerce.ListOrdersAsync(since, null, null, cancellationToken),
            snapshot => snapshot.Order.DateModified, batch => ApplyOrdersAsync(store, firing, batch, cancellationToken),
            orderId => OrderChanged(store, firing, orderId), cancellationToken);
        var customerCount = await SweepAsync(store, "customer", since => bigCommerce.ListCustomersAsync(since, cancellationToken),
            snapshot => snapshot.Customer.DateModified, batch => ApplyCustomersAsync(store, firing, batch, cancellationToken),
            customerId => new BigCommerceCustomerChanged(store, customerId, Scope, firing, time.GetUtcNow()), cancellationToken);
        WorkerLog.Reconciled(logger, store, orderCount, customerCount);
    }

    /// <summary>
    /// Applies, <see cref="OrdersAtOnce"/> at a time, what the listing returns, hands each
    /// malformed entry to its consumer (<paramref name="changed"/>), then moves the watermark to
    /// the newest change listed, but no later than the sweep's start.
    /// </summary>
    async Task<int> SweepAsync<T>(
        string store,
        string entityType,
        Func<DateTimeOffset, IAsyncEnumerable<Listed<T>>> list,
        Func<T, DateTimeOffset?> modified,
        Func<IReadOnlyList<T>, Task> apply,
        Func<long, object> changed,
        CancellationToken cancellationToken) where T : class
    {
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
        var batch = new List<T>();
        await foreach (var entry in list(since))
        {
            if (entry.Snapshot is not { } snapshot)
            {
                await HandOffAsync(store, entityType, entry.Id, entry.Malformed!, entry.Version!, changed, cancellationToken);
                continue;
            }
            batch.Add(snapshot);
            count++;
            if (modified(snapshot) is { } at && (newest is null || at > newest))
            {
                newest = at;
            }
            if (batch.Count == OrdersAtOnce)
            {
                await apply(batch);
                batch = [];
            }
        }
        if (batch.Count > 0)
        {
            await apply(batch);
        }
        // Never past the moment the sweep began: pages go by id, so an entity on a page already
        // read can change while later pages are read, and a later page's newer change would
        // otherwise carry the watermark past that one for good. The overlap absorbs the skew
        // between the store's clock and this one.
        if (newest > startedAt)
        {
            newest = startedAt;
        }
        // Only after everything listed is applied: a crash before this point means the next
        // firing lists the same entities again, which the idempotent writes absorb.
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

    /// <summary>
    /// A malformed entity is published as a change, as a callback of it would be: not applied here,
    /// it must not stop the sweep, nor pass unseen. Only once per <paramref name="version"/>: the
    /// overlap lists an entity again at every firing for minutes, and each hand-over would put one
    /// more copy of the same failure in the dead-letter queue. A version is recorded with its
    /// publication, in one transaction, so a publication that failed is tried at the next firing.
    /// </summary>
    async Task HandOffAsync(
        string store, string entityType, long? id, BigCommercePayloadException malformed, string version, Func<long, object> changed,
        CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.reconcile_handoffs as h (store_hash, entity_type, entity_id, version)
            values (@Store, @EntityType, @EntityId, @Version)
            on conflict (store_hash, entity_type, entity_id) do update set version = excluded.version, handed_at = now()
            where h.version <> excluded.version
            """;
        var reason = PrintableText.Of(malformed.Message);
        if (id is not { } entityId)
        {
            WorkerLog.ListedWithoutId(logger, entityType, reason);
            return;
        }
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await connection.ExecuteAsync(new CommandDefinition(
                sql, new { Store = store, EntityType = entityType, EntityId = entityId, Version = version }, transaction,
                cancellationToken: cancellationToken)) == 0)
        {
            WorkerLog.ListedMalformedAgain(logger, entityType, entityId);
            return;
        }
        var message = changed(entityId);
        await publisher.Publish(message, message.GetType(), context => context.MustReachAQueue(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        WorkerLog.ListedMalformed(logger, entityType, entityId, reason);
    }

    async Task ApplyOrdersAsync(string store, string firing, IReadOnlyList<OrderSnapshot> batch, CancellationToken cancellationToken)
    {
        var fetched = await OrderFetches.WithNewCustomersAsync(bigCommerce, database, batch, cancellationToken);
        await Parallel.ForEachAsync(fetched, new ParallelOptions { MaxDegreeOfParallelism = syncOptions.Value.ApplyConcurrency, CancellationToken = cancellationToken },
            async (order, token) =>
            {
                var snapshot = order.Snapshot!;
                var orderId = snapshot.Order.Id;
                // Parked, it is re-attempted as the callback it stands for.
                var message = new BigCommerceOrderChanged(store, orderId, Scope, firing, snapshot.FetchStartedAt);
                try
                {
                    var outcome = await orders.ApplyAsync(store, orderId, order, null, false, Audit(SourceSystem.OrderKey(orderId), store, firing),
                        new Parkable(nameof(BigCommerceOrderChanged), JsonSerializer.Serialize(message), null), token);
                    WorkerLog.OrderOutcome(logger, orderId, Scope, outcome.Name());
                }
                catch (BigCommercePayloadException e)
                {
                    // Its new customer came malformed (fetched alone to apply the order): the
                    // order fails alone, as a malformed entry of the listing does, once per
                    // version of the order and of the customer's failure.
                    var malformed = new BigCommercePayloadException($"customer {snapshot.Order.CustomerId}: {e.Message}");
                    await HandOffAsync(store, "order", orderId, malformed, Digest.Of(snapshot.Order.Raw.GetRawText() + "\n" + malformed.Message),
                        id => OrderChanged(store, firing, id), token);
                }
            });
    }

    BigCommerceOrderChanged OrderChanged(string store, string firing, long orderId) => new(store, orderId, Scope, firing, time.GetUtcNow());

    async Task ApplyCustomersAsync(string store, string firing, IReadOnlyList<CustomerSnapshot> batch, CancellationToken cancellationToken)
    {
        foreach (var snapshot in batch)
        {
            var customerId = snapshot.Customer.Id;
            await using var entity = await EntityLock.AcquireAsync(database, $"bigcommerce:{store}:customer:{customerId}", logger, cancellationToken);
            var outcome = SyncOutcome.Coalesced;
            if (!(await Coalescing.LastFetchStartedAsync(entity.Connection, store, "customer", customerId, cancellationToken) >= snapshot.FetchStartedAt))
            {
                var message = new BigCommerceCustomerChanged(store, customerId, Scope, firing, snapshot.FetchStartedAt);
                await using var transaction = await entity.BeginAsServiceRoleAsync(Audit(SourceSystem.CustomerKey(customerId), store, firing), cancellationToken);
                outcome = await CustomerSync.ApplyAsync(transaction, store, snapshot,
                    new Parkable(nameof(BigCommerceCustomerChanged), JsonSerializer.Serialize(message), null), cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            WorkerLog.CustomerOutcome(logger, customerId, Scope, outcome.Name());
        }
    }

    const string Scope = "reconcile";

    static AuditContext Audit(string sourceKey, string store, string firing) =>
        AuditContext.For(SourceSystem.Name, sourceKey, null, firing).With("store_hash", store).With("scope", Scope);

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
