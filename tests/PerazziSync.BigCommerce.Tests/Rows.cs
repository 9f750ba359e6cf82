using Dapper;
using PerazziSync.Testing;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>What the sync left in the portal database.</summary>
static class Rows
{
    public sealed record Order(Guid Id, string? Status, decimal? TotalAmount, string? Currency, DateTime? PlacedAt, Guid UserId, string CustomerId, DateTime? ArchivedAt);

    public static async Task<Order?> OrderAsync(ProductUnderTest product, long orderId)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return await connection.QueryFirstOrDefaultAsync<Order>(
            """
            select o.id as "Id", o.status as "Status", o.total_amount as "TotalAmount", o.currency as "Currency",
                   o.placed_at as "PlacedAt", c.user_id as "UserId", c.bigcommerce_customer_id as "CustomerId", o.archived_at as "ArchivedAt"
            from commerce_orders o join commerce_customers c on c.id = o.commerce_customer_id
            where o.bigcommerce_order_id = @Id
            """, new { Id = orderId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public static async Task<List<string>> LineIdsAsync(ProductUnderTest product, long orderId)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return (await connection.QueryAsync<string>(
            """
            select i.bigcommerce_line_id from commerce_order_items i
            join commerce_orders o on o.id = i.commerce_order_id
            where o.bigcommerce_order_id = @Id order by i.bigcommerce_line_id
            """, new { Id = orderId.ToString(System.Globalization.CultureInfo.InvariantCulture) })).AsList();
    }

    public sealed record AuditRow(string Action, string ObjectType, string ObjectId, string ActorRole, string Metadata);

    /// <summary>Audit rows of the order, its lines and its customer, oldest first.</summary>
    public static async Task<List<AuditRow>> AuditAsync(ProductUnderTest product, long orderId, long? customerId = null)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return (await connection.QueryAsync<AuditRow>(
            """
            select action as "Action", object_type as "ObjectType", object_id as "ObjectId", actor_role as "ActorRole", metadata::text as "Metadata"
            from audit_log
            where metadata->>'source_key' in (@Order, @Customer)
            order by created_at, id
            """, new { Order = $"order:{orderId}", Customer = customerId is null ? "none" : $"customer:{customerId}" })).AsList();
    }

    public sealed record Parked(string Reason, int Attempts, DateTime? ResolvedAt);

    public static async Task<Parked?> ParkedAsync(ProductUnderTest product, string sourceKey)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return await connection.QueryFirstOrDefaultAsync<Parked>(
            """
            select reason as "Reason", attempts as "Attempts", resolved_at as "ResolvedAt"
            from perazzi_sync.parked_events where source_system = 'bigcommerce' and source_key = @Key
            """, new { Key = sourceKey });
    }

    public static async Task<long> CustomerCountAsync(ProductUnderTest product, long customerId)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return await connection.ExecuteScalarAsync<long>(
            "select count(*) from commerce_customers where bigcommerce_customer_id = @Id",
            new { Id = customerId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }

    public static async Task<string?> LinkStatusAsync(ProductUnderTest product, long customerId)
    {
        await using var connection = await product.OpenDatabaseAsync();
        return await connection.ExecuteScalarAsync<string?>(
            "select link_status from commerce_customers where bigcommerce_customer_id = @Id",
            new { Id = customerId.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    }
}
