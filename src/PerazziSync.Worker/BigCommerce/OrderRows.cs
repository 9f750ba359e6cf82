using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.BigCommerce;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>Where a BigCommerce order becomes <c>commerce_orders</c> and <c>commerce_order_items</c> rows.</summary>
static class OrderRows
{
    /// <summary>
    /// Inserts or updates the order, one audit row if something changed. A snapshot older than
    /// the stored one changes nothing (Stale). Versions are ordered by date_modified (a snapshot
    /// without one is older than any with one), then by the digest of the order, so that any
    /// order of arrival ends with the same row; the guard is checked again on the row the
    /// statement replaces.
    /// </summary>
    public static Task<RowChange> UpsertAsync(
        NpgsqlTransaction transaction, Guid customerRowId, BigCommerceOrder order, JsonElement rawOrder, bool archived,
        string auditMetadata, CancellationToken cancellationToken)
    {
        const string sql = """
            with old as (
              select * from commerce_orders where bigcommerce_order_id = @OrderId for update
            ), new as (
              select @CustomerRowId::uuid as commerce_customer_id, @OrderId::text as bigcommerce_order_id,
                     @OrderNumber::text as order_number, @Status::text as status, @Total::numeric as total_amount,
                     @Currency::text as currency, @PlacedAt::timestamptz as placed_at, @Raw::jsonb as raw_payload,
                     @Modified::timestamptz as source_modified_at,
                     case when @Archived then coalesce((select archived_at from old), now()) end as archived_at
            ), diff as (
              select coalesce((coalesce(o.source_modified_at, '-infinity'), md5(o.raw_payload::text))
                              > (coalesce(n.source_modified_at, '-infinity'), md5(n.raw_payload::text)), false) as stale,
                     o.source_modified_at as previous_version,
                     array_remove(array[
                       case when o.commerce_customer_id is distinct from n.commerce_customer_id then 'commerce_customer_id' end,
                       case when o.id is null then 'bigcommerce_order_id' end,
                       case when o.order_number is distinct from n.order_number then 'order_number' end,
                       case when o.status is distinct from n.status then 'status' end,
                       case when o.total_amount is distinct from n.total_amount then 'total_amount' end,
                       case when o.currency is distinct from n.currency then 'currency' end,
                       case when o.placed_at is distinct from n.placed_at then 'placed_at' end,
                       case when o.raw_payload is distinct from n.raw_payload then 'raw_payload' end,
                       case when o.source_modified_at is distinct from n.source_modified_at then 'source_modified_at' end,
                       case when o.archived_at is distinct from n.archived_at then 'archived_at' end
                     ], null) as changed
              from new n left join old o on true
            ), up as (
              insert into commerce_orders as t
                (commerce_customer_id, bigcommerce_order_id, order_number, status, total_amount, currency,
                 placed_at, raw_payload, source_modified_at, archived_at)
              select n.commerce_customer_id, n.bigcommerce_order_id, n.order_number, n.status, n.total_amount,
                     n.currency, n.placed_at, n.raw_payload, n.source_modified_at, n.archived_at
              from new n, diff d
              where not d.stale and cardinality(d.changed) > 0
              on conflict on constraint commerce_orders_bc_unique do update set
                commerce_customer_id = excluded.commerce_customer_id,
                order_number = excluded.order_number,
                status = excluded.status,
                total_amount = excluded.total_amount,
                currency = excluded.currency,
                placed_at = excluded.placed_at,
                raw_payload = excluded.raw_payload,
                source_modified_at = excluded.source_modified_at,
                archived_at = excluded.archived_at
              where (coalesce(t.source_modified_at, '-infinity'), md5(t.raw_payload::text))
                    <= (coalesce(excluded.source_modified_at, '-infinity'), md5(excluded.raw_payload::text))
              returning t.id, (t.xmax = 0) as inserted
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'commerce.order.upsert', 'commerce_order', up.id::text,
                     @Metadata::jsonb || jsonb_build_object(
                       'operation', case when up.inserted then 'insert' else 'update' end,
                       'changed_fields', to_jsonb(d.changed),
                       'version', n.source_modified_at,
                       'previous_version', d.previous_version)
              from up, diff d, new n
            )
            select coalesce(up.id, (select id from old)) as "Id", up.inserted as "Inserted",
                   -- Refused by the guard on the stored row: as stale as if the snapshot had said so.
                   d.stale or (cardinality(d.changed) > 0 and up.id is null) as "Stale", d.changed as "Changed"
            from diff d left join up on true
            """;
        return transaction.Connection!.QuerySingleAsync<RowChange>(new CommandDefinition(sql, new
        {
            CustomerRowId = customerRowId,
            OrderId = order.Id.ToString(CultureInfo.InvariantCulture),
            OrderNumber = order.Id.ToString(CultureInfo.InvariantCulture),
            order.Status,
            Total = order.TotalIncTax,
            order.Currency,
            PlacedAt = order.DateCreated?.UtcDateTime,
            Raw = rawOrder.GetRawText(),
            Modified = order.DateModified?.UtcDateTime,
            Archived = archived,
            Metadata = auditMetadata,
        }, transaction, cancellationToken: cancellationToken));
    }

    public sealed record LineChanges(long Inserted, long Updated, long Deleted);

    /// <summary>
    /// Makes the order's lines equal to the snapshot's: upserts on the BigCommerce line id,
    /// deletes lines gone upstream, one audit row per line inserted, changed or deleted.
    /// </summary>
    public static Task<LineChanges> ReplaceLinesAsync(
        NpgsqlTransaction transaction, Guid orderRowId, IReadOnlyList<JsonElement> rawLines,
        string auditMetadata, CancellationToken cancellationToken)
    {
        const string sql = """
            with incoming as (
              select * from jsonb_to_recordset(@Lines::jsonb) as l(
                bigcommerce_line_id text, sku text, product_id text, name text, quantity integer, price numeric, raw_payload jsonb)
            ), old as (
              select * from commerce_order_items where commerce_order_id = @OrderRowId for update
            ), diff as (
              select i.bigcommerce_line_id,
                     array_remove(array[
                       case when o.id is null then 'bigcommerce_line_id' end,
                       case when o.sku is distinct from i.sku then 'sku' end,
                       case when o.product_id is distinct from i.product_id then 'product_id' end,
                       case when o.name is distinct from i.name then 'name' end,
                       case when o.quantity is distinct from i.quantity then 'quantity' end,
                       case when o.price is distinct from i.price then 'price' end,
                       case when o.raw_payload is distinct from i.raw_payload then 'raw_payload' end
                     ], null) as changed
              from incoming i left join old o using (bigcommerce_line_id)
            ), up as (
              insert into commerce_order_items as t
                (commerce_order_id, bigcommerce_line_id, sku, product_id, name, quantity, price, raw_payload)
              select @OrderRowId, i.bigcommerce_line_id, i.sku, i.product_id, i.name, i.quantity, i.price, i.raw_payload
              from incoming i join diff d using (bigcommerce_line_id)
              where cardinality(d.changed) > 0
              on conflict on constraint commerce_order_items_line_unique do update set
                sku = excluded.sku,
                product_id = excluded.product_id,
                name = excluded.name,
                quantity = excluded.quantity,
                price = excluded.price,
                raw_payload = excluded.raw_payload
              returning t.id, t.bigcommerce_line_id, (t.xmax = 0) as inserted
            ), gone as (
              delete from commerce_order_items t
              where t.commerce_order_id = @OrderRowId
                and not exists (select 1 from incoming i where i.bigcommerce_line_id = t.bigcommerce_line_id)
              returning t.id, t.bigcommerce_line_id
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'commerce.order_item.upsert', 'commerce_order_item', up.id::text,
                     @Metadata::jsonb || jsonb_build_object(
                       'bigcommerce_line_id', up.bigcommerce_line_id,
                       'operation', case when up.inserted then 'insert' else 'update' end,
                       'changed_fields', to_jsonb(d.changed))
              from up join diff d using (bigcommerce_line_id)
              union all
              select 'service_role', 'commerce.order_item.delete', 'commerce_order_item', gone.id::text,
                     @Metadata::jsonb || jsonb_build_object('bigcommerce_line_id', gone.bigcommerce_line_id, 'operation', 'delete')
              from gone
            )
            select (select count(*) from up where inserted) as "Inserted",
                   (select count(*) from up where not inserted) as "Updated",
                   (select count(*) from gone) as "Deleted"
            """;
        var lines = new JsonArray();
        foreach (var raw in rawLines)
        {
            var line = BigCommerceOrderLine.Parse(raw);
            lines.Add(new JsonObject
            {
                ["bigcommerce_line_id"] = line.Id.ToString(CultureInfo.InvariantCulture),
                ["sku"] = line.Sku,
                ["product_id"] = line.ProductId?.ToString(CultureInfo.InvariantCulture),
                ["name"] = line.Name,
                ["quantity"] = line.Quantity,
                ["price"] = line.Price,
                ["raw_payload"] = JsonNode.Parse(raw.GetRawText()),
            });
        }
        return transaction.Connection!.QuerySingleAsync<LineChanges>(new CommandDefinition(sql, new
        {
            OrderRowId = orderRowId,
            Lines = lines.ToJsonString(),
            Metadata = auditMetadata,
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>An order BigCommerce no longer returns: keep it, marked archived.</summary>
    public static async Task<bool> MarkArchivedAsync(
        NpgsqlTransaction transaction, long orderId, string auditMetadata, CancellationToken cancellationToken)
    {
        const string sql = """
            with up as (
              update commerce_orders set archived_at = now()
              where bigcommerce_order_id = @OrderId and archived_at is null
              returning id
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'commerce.order.archive', 'commerce_order', up.id::text,
                     @Metadata::jsonb || jsonb_build_object('operation', 'update', 'changed_fields', jsonb_build_array('archived_at'))
              from up
            )
            select count(*) from up
            """;
        return await transaction.Connection!.ExecuteScalarAsync<long>(new CommandDefinition(sql, new
        {
            OrderId = orderId.ToString(CultureInfo.InvariantCulture),
            Metadata = auditMetadata,
        }, transaction, cancellationToken: cancellationToken)) > 0;
    }
}
