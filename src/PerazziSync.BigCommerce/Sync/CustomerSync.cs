using Npgsql;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Data;

namespace PerazziSync.BigCommerce.Sync;

/// <summary>The rules of applying a fetched BigCommerce customer (docs/sync-rules.md), in the caller's transaction as the service role.</summary>
public static class CustomerSync
{
    /// <summary>
    /// Links and writes the customer, or parks it when no confirmed portal user has its e-mail.
    /// A customer BigCommerce no longer returns is unlinked (<see cref="UnlinkAsync"/>).
    /// </summary>
    public static async Task<SyncOutcome> ApplyAsync(
        NpgsqlTransaction transaction, string storeHash, CustomerSnapshot snapshot, Parkable parkable, CancellationToken cancellationToken)
    {
        var linked = await CustomerLinking.ApplyAsync(transaction, storeHash, snapshot, cancellationToken);
        if (linked.Change is not { } change)
        {
            await Parking.ParkAsync(transaction, SourceSystem.Name, SourceSystem.CustomerKey(snapshot.Customer.Id), linked.ParkReason!,
                parkable.MessageType, parkable.Message, parkable.MessageId, cancellationToken);
            return SyncOutcome.Parked;
        }
        return change.Stale ? SyncOutcome.Stale : change.IsChange ? SyncOutcome.Applied : SyncOutcome.Unchanged;
    }

    /// <summary>
    /// <c>store/customer/deleted</c>, or a customer BigCommerce no longer returns: the row and its
    /// orders stay, marked unlinked. The transaction's audit context should carry the action
    /// <c>commerce.customer.unlink</c>.
    /// </summary>
    public static async Task<SyncOutcome> UnlinkAsync(NpgsqlTransaction transaction, long customerId, CancellationToken cancellationToken) =>
        await CustomerRows.MarkUnlinkedAsync(transaction, customerId, cancellationToken) ? SyncOutcome.Applied : SyncOutcome.Unchanged;
}
