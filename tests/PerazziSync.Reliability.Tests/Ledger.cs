using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Testing;

namespace PerazziSync.Reliability.Tests;

/// <summary>Where every accepted callback of a workload ended up, counted from the database and the broker.</summary>
sealed record Ledger(
    long ServiceEvents, long ServiceEventAudits, long DistinctServiceEventAudits,
    long Orders, long OrderAudits, long Lines, long LineAudits, long CustomerAudits,
    long Parked, uint DeadLettered, uint Waiting, string InputQueues)
{
    public static async Task<Ledger> ReadAsync(ProductUnderTest product, NpgsqlConnection connection, string prefix)
    {
        var counts = await connection.QuerySingleAsync<(long, long, long, long, long, long, long, long, long)>("""
            select (select count(*) from service_events where source_record_id like @Prefix || '-%'),
                   (select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like @Prefix || '-%'),
                   (select count(distinct metadata->>'source_key') from audit_log
                     where action = 'service_event.upsert' and metadata->>'source_key' like @Prefix || '-%'),
                   (select count(*) from commerce_orders),
                   (select count(*) from audit_log where action = 'commerce.order.upsert'),
                   (select count(*) from commerce_order_items),
                   (select count(*) from audit_log where action = 'commerce.order_item.upsert'),
                   (select count(*) from audit_log where action = 'commerce.customer.upsert'),
                   (select count(*) from perazzi_sync.parked_events where resolved_at is null)
            """, new { Prefix = prefix });
        uint deadLettered = 0, waiting = 0;
        var inputs = new List<QueueState>();
        foreach (var queue in Queues.Inputs)
        {
            deadLettered += await product.Broker.DeadLetteredAsync(queue);
            var input = await product.Broker.DeclaredQueueAsync(queue);
            inputs.Add(input);
            waiting += input.Messages;
        }
        var (events, eventAudits, distinctEventAudits, orders, orderAudits, lines, lineAudits, customerAudits, parked) = counts;
        return new Ledger(events, eventAudits, distinctEventAudits, orders, orderAudits, lines, lineAudits, customerAudits, parked, deadLettered, waiting, string.Join("; ", inputs));
    }

    /// <summary>
    /// Every accepted callback's effect present exactly once: one row and one audit row per
    /// record and per order row, nothing parked, dead-lettered (in an input queue's _error or
    /// _skipped) or still in an input queue, ready or unacknowledged.
    /// </summary>
    public bool IsExactlyOnce(SyncWorkload workload) =>
        ServiceEvents == workload.FinalVersions.Count
        && ServiceEventAudits == workload.FinalVersions.Count
        && DistinctServiceEventAudits == workload.FinalVersions.Count
        && Orders == workload.OrderIds.Count && OrderAudits == Orders
        && Lines == 2 * workload.OrderIds.Count && LineAudits == Lines
        && CustomerAudits == (workload.OrderIds.Count > 0 ? 1 : 0)
        && Parked == 0 && DeadLettered == 0 && Waiting == 0;

    public override string ToString() =>
        $"service_events {ServiceEvents} (audit rows {ServiceEventAudits}, for {DistinctServiceEventAudits} records), " +
        $"orders {Orders} (audit {OrderAudits}), lines {Lines} (audit {LineAudits}), customer audit {CustomerAudits}, " +
        $"parked {Parked}, dead-lettered {DeadLettered}, still queued {Waiting} ({InputQueues})";
}
