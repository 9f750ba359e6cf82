using Npgsql;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Data;

namespace PerazziSync.BigCommerce.Sync;

/// <summary>A message to keep in <c>perazzi_sync.parked_events</c> if its entity cannot be attributed yet.</summary>
/// <param name="MessageType">The message's type name, for the re-attempt to send it again.</param>
/// <param name="Message">The message as JSON.</param>
public sealed record Parkable(string MessageType, string Message, Guid? MessageId);

/// <summary>
/// The rules of applying a fetched BigCommerce order (docs/sync-rules.md), in the caller's
/// transaction as the service role: guest orders and orders of customers without a confirmed
/// portal user are parked; the customer is linked once; the order and its lines are written if
/// the snapshot is not older than what is stored; archived orders keep their rows.
/// </summary>
public static class OrderSync
{
    /// <param name="newCustomer">The order's customer, fetched because it has no row yet (null otherwise, or when BigCommerce does not know it).</param>
    /// <param name="archived">The callback announced the order's archiving.</param>
    public static async Task<SyncOutcome> ApplyAsync(
        NpgsqlTransaction transaction, string storeHash, OrderSnapshot snapshot, CustomerSnapshot? newCustomer, bool archived,
        Parkable parkable, CancellationToken cancellationToken)
    {
        var order = snapshot.Order;
        await Coalescing.RecordFetchAsync(transaction, storeHash, "order", order.Id, snapshot.FetchStartedAt, cancellationToken);
        var key = SourceSystem.OrderKey(order.Id);
        if (order.CustomerId == 0)
        {
            await ParkAsync(transaction, key, "guest_order", parkable, cancellationToken);
            return SyncOutcome.Parked;
        }

        Guid customerRowId;
        if (await CustomerRows.FindAsync(transaction, order.CustomerId, cancellationToken) is { } customer)
        {
            customerRowId = customer.Id;
        }
        else
        {
            var linked = await CustomerLinking.ApplyAsync(transaction, storeHash, newCustomer, cancellationToken);
            if (linked.CustomerRowId is not { } linkedRowId)
            {
                await ParkAsync(transaction, key, linked.ParkReason!, parkable, cancellationToken);
                return SyncOutcome.Parked;
            }
            customerRowId = linkedRowId;
        }

        var change = await OrderRows.UpsertAsync(transaction, customerRowId, order, order.IsDeleted || archived, cancellationToken);
        if (change.Stale)
        {
            return SyncOutcome.Stale;
        }
        var lines = await OrderRows.ReplaceLinesAsync(transaction, change.Id!.Value, snapshot.Lines, cancellationToken);
        await Parking.ResolveAsync(transaction, SourceSystem.Name, key, cancellationToken);
        return change.IsChange || lines.Any ? SyncOutcome.Applied : SyncOutcome.Unchanged;
    }

    /// <summary>
    /// BigCommerce no longer returns the order: its history is kept, marked archived. The
    /// transaction's audit context should carry the action <c>commerce.order.archive</c>.
    /// </summary>
    public static async Task<SyncOutcome> ArchiveGoneAsync(NpgsqlTransaction transaction, long orderId, CancellationToken cancellationToken) =>
        await OrderRows.MarkArchivedAsync(transaction, orderId, cancellationToken) ? SyncOutcome.Applied : SyncOutcome.Unchanged;

    static Task ParkAsync(NpgsqlTransaction transaction, string key, string reason, Parkable parkable, CancellationToken cancellationToken) =>
        Parking.ParkAsync(transaction, SourceSystem.Name, key, reason, parkable.MessageType, parkable.Message, parkable.MessageId, cancellationToken);
}
