using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Applies a fetched order (<see cref="OrderSync"/>) under the order's lock, as callbacks and
/// reconciliation sweeps both do: nothing when a fetch at least as recent is already applied,
/// the customer linked under its own lock when the order brings a new one. At most
/// <see cref="BigCommerceSyncOptions.ApplyConcurrency"/> at once per worker, so a round of many
/// orders does not take as many database connections.
/// </summary>
public sealed class OrderApplication(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
    IOptions<BigCommerceSyncOptions> options,
    TimeProvider time,
    ILogger<OrderApplication> logger) : IDisposable
{
    readonly SemaphoreSlim _applying = new(options.Value.ApplyConcurrency);

    /// <param name="receivedAt">When the callback that asked for the order was received; null for a sweep.</param>
    /// <param name="archived">The callback announced the order's archiving.</param>
    public async Task<SyncOutcome> ApplyAsync(
        string storeHash, long orderId, FetchedOrder fetched, DateTimeOffset? receivedAt, bool archived,
        AuditContext audit, Parkable parkable, CancellationToken cancellationToken)
    {
        await _applying.WaitAsync(cancellationToken);
        try
        {
            await using var entity = await EntityLock.AcquireAsync(database, $"bigcommerce:{storeHash}:order:{orderId}", logger, cancellationToken);
            var lastFetch = await Coalescing.LastFetchStartedAsync(entity.Connection, storeHash, "order", orderId, cancellationToken);
            if (receivedAt is { } received && Coalescing.IsCovered(lastFetch, received, options.Value.ClockSkew)
                || fetched.Snapshot is { } snapshot && lastFetch >= snapshot.FetchStartedAt)
            {
                return SyncOutcome.Coalesced;
            }

            // A customer first seen through this order is linked under its own lock, so concurrent
            // orders of a new customer link it once.
            EntityLock? customerLock = null;
            try
            {
                CustomerSnapshot? newCustomer = null;
                if (fetched.Snapshot?.Order is { CustomerId: > 0 } order && !await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
                {
                    customerLock = await EntityLock.AcquireAsync(
                        database, $"bigcommerce:{storeHash}:customer:{order.CustomerId}", logger, cancellationToken);
                    if (!await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
                    {
                        newCustomer = fetched.CustomerLooked ? fetched.Customer : await bigCommerce.GetCustomerAsync(order.CustomerId, cancellationToken);
                    }
                }

                await using var transaction = await entity.BeginAsServiceRoleAsync(
                    fetched.Snapshot is null ? audit.WithAction("commerce.order.archive") : audit, cancellationToken);
                var outcome = fetched.Snapshot is null
                    ? await OrderSync.ArchiveGoneAsync(transaction, orderId, cancellationToken)
                    : await OrderSync.ApplyAsync(transaction, storeHash, fetched.Snapshot, newCustomer, archived, parkable, cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                if (outcome == SyncOutcome.Applied)
                {
                    Telemetry.RecordLag(SourceSystem.Name, fetched.Snapshot?.Order.DateModified ?? receivedAt ?? time.GetUtcNow(), time);
                }
                return outcome;
            }
            finally
            {
                if (customerLock is not null)
                {
                    await customerLock.DisposeAsync();
                }
            }
        }
        finally
        {
            _applying.Release();
        }
    }

    public void Dispose() => _applying.Dispose();
}
