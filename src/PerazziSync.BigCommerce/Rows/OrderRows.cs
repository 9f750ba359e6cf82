using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Rows;

/// <summary>
/// Where a BigCommerce order becomes <c>commerce_orders</c> and <c>commerce_order_items</c> rows.
/// The database decides what changed and writes the audit rows (docs/sync-rules.md).
/// </summary>
public static class OrderRows
{
    /// <summary>
    /// Inserts or updates the order. A snapshot older than the stored one changes nothing
    /// (Stale): versions are ordered by date_modified (none before any), and between equal ones
    /// the later fetch wins, which the caller ensures by applying an order's fetches under its
    /// lock in the order they started (docs/sync-rules.md): BigCommerce's date_modified counts
    /// seconds, and two changes within one second must end with the second.
    /// </summary>
    public static Task<RowChange> UpsertAsync(
        NpgsqlTransaction transaction, Guid customerRowId, BigCommerceOrder order, bool archived, CancellationToken cancellationToken)
    {
        const string sql = """
            with old as (
              select id, archived_at, source_modified_at
              from commerce_orders where bigcommerce_order_id = @OrderId for update
            ), up as (
              insert into commerce_orders as t
                (commerce_customer_id, bigcommerce_order_id, order_number, status, total_amount, currency,
                 placed_at, raw_payload, source_modified_at, archived_at)
              values (@CustomerRowId, @OrderId, @OrderNumber, @Status, @Total, @Currency, @PlacedAt, @Raw::jsonb, @Modified,
                      case when @Archived then coalesce((select archived_at from old), now()) end)
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
              where coalesce(t.source_modified_at, '-infinity') <= coalesce(excluded.source_modified_at, '-infinity')
              returning t.id, (t.xmax = 0) as inserted
            )
            select coalesce(up.id, (select id from old)) as "Id", up.inserted as "Inserted",
                   up.id is null and exists (
                     select from old o
                     where coalesce(o.source_modified_at, '-infinity') > coalesce(@Modified::timestamptz, '-infinity')) as "Stale"
            from (select) as one left join up on true
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
            Raw = order.Raw.GetRawText(),
            Modified = order.DateModified?.UtcDateTime,
            Archived = archived,
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>How many of the order's lines were inserted, changed or deleted.</summary>
    public sealed record LineChanges(long Inserted, long Updated, long Deleted)
    {
        public bool Any => Inserted + Updated + Deleted > 0;
    }

    /// <summary>
    /// Makes the order's lines equal to the snapshot's: upserts on the BigCommerce line id and
    /// deletes lines gone upstream.
    /// </summary>
    public static Task<LineChanges> ReplaceLinesAsync(
        NpgsqlTransaction transaction, Guid orderRowId, IReadOnlyList<BigCommerceOrderLine> lines, CancellationToken cancellationToken)
    {
        const string sql = """
            with incoming as (
              select * from jsonb_to_recordset(@Lines::jsonb) as l(
                bigcommerce_line_id text, sku text, product_id text, name text, quantity integer, price numeric, raw_payload jsonb)
            ), up as (
              insert into commerce_order_items as t
                (commerce_order_id, bigcommerce_line_id, sku, product_id, name, quantity, price, raw_payload)
              select @OrderRowId, i.bigcommerce_line_id, i.sku, i.product_id, i.name, i.quantity, i.price, i.raw_payload
              from incoming i
              order by i.bigcommerce_line_id
              on conflict on constraint commerce_order_items_line_unique do update set
                sku = excluded.sku,
                product_id = excluded.product_id,
                name = excluded.name,
                quantity = excluded.quantity,
                price = excluded.price,
                raw_payload = excluded.raw_payload
              returning (t.xmax = 0) as inserted
            ), gone as (
              delete from commerce_order_items t
              where t.commerce_order_id = @OrderRowId
                and not exists (select 1 from incoming i where i.bigcommerce_line_id = t.bigcommerce_line_id)
              returning 1
            )
            select (select count(*) from up where inserted) as "Inserted",
                   (select count(*) from up where not inserted) as "Updated",
                   (select count(*) from gone) as "Deleted"
            """;
        var rows = new JsonArray();
        foreach (var line in lines)
        {
            rows.Add(new JsonObject
            {
                ["bigcommerce_line_id"] = line.Id.ToString(CultureInfo.InvariantCulture),
                ["sku"] = line.Sku,
                ["product_id"] = line.ProductId?.ToString(CultureInfo.InvariantCulture),
                ["name"] = line.Name,
                ["quantity"] = line.Quantity,
                ["price"] = line.Price,
                ["raw_payload"] = JsonNode.Parse(line.Raw.GetRawText()),
            });
        }
        return transaction.Connection!.QuerySingleAsync<LineChanges>(new CommandDefinition(sql, new
        {
            OrderRowId = orderRowId,
            Lines = rows.ToJsonString(),
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>An order BigCommerce no longer returns: keep it, marked archived.</summary>
    public static async Task<bool> MarkArchivedAsync(NpgsqlTransaction transaction, long orderId, CancellationToken cancellationToken) =>
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "update commerce_orders set archived_at = now() where bigcommerce_order_id = @OrderId and archived_at is null",
            new { OrderId = orderId.ToString(CultureInfo.InvariantCulture) }, transaction, cancellationToken: cancellationToken)) > 0;
}

/// <summary>What an upsert did to its row.</summary>
public sealed class RowChange
{
    /// <summary>The row, whether it changed or not; null when a stale snapshot met no row.</summary>
    public Guid? Id { get; init; }

    /// <summary>True for an insert, false for an update, null when nothing was written.</summary>
    public bool? Inserted { get; init; }

    /// <summary>The stored row is newer than the snapshot, which was not applied.</summary>
    public bool Stale { get; init; }

    public bool IsChange => Inserted is not null;
}
