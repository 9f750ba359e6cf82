using System.Globalization;
using Dapper;
using Npgsql;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Rows;

/// <summary>
/// Where a BigCommerce customer becomes a <c>commerce_customers</c> row. The database decides
/// what changed and writes the audit rows (docs/sync-rules.md).
/// </summary>
public static class CustomerRows
{
    public sealed record Existing(Guid Id, Guid UserId);

    /// <summary>Whether the customer has a row; read outside any transaction, before deciding to fetch it.</summary>
    public static async Task<bool> ExistsAsync(NpgsqlConnection connection, long customerId, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select exists (select 1 from commerce_customers where bigcommerce_customer_id = @CustomerId)",
            new { CustomerId = Key(customerId) }, cancellationToken: cancellationToken));

    /// <summary>Which of the customers have a row; read outside any transaction, before deciding which to fetch.</summary>
    public static async Task<IReadOnlySet<long>> ExistingAsync(
        NpgsqlConnection connection, IReadOnlyCollection<long> customerIds, CancellationToken cancellationToken)
    {
        var keys = await connection.QueryAsync<string>(new CommandDefinition(
            "select bigcommerce_customer_id from commerce_customers where bigcommerce_customer_id = any(@CustomerIds)",
            new { CustomerIds = customerIds.Select(Key).ToArray() }, cancellationToken: cancellationToken));
        return keys.Select(k => long.Parse(k, CultureInfo.InvariantCulture)).ToHashSet();
    }

    public static Task<Existing?> FindAsync(NpgsqlTransaction transaction, long customerId, CancellationToken cancellationToken) =>
        transaction.Connection!.QueryFirstOrDefaultAsync<Existing?>(new CommandDefinition(
            """select id as "Id", user_id as "UserId" from commerce_customers where bigcommerce_customer_id = @CustomerId""",
            new { CustomerId = Key(customerId) }, transaction, cancellationToken: cancellationToken));

    /// <summary>
    /// Inserts or updates the customer. The user is set on insert only: a linked customer is never
    /// moved to another user by a later change upstream. A snapshot older than the stored one
    /// changes nothing; versions are ordered as the orders' are (date_modified, none before any,
    /// then the digest of the e-mail).
    /// </summary>
    public static Task<RowChange> UpsertAsync(
        NpgsqlTransaction transaction, BigCommerceCustomer customer, Guid userId, CancellationToken cancellationToken)
    {
        const string sql = """
            with old as (
              select id, source_modified_at, email from commerce_customers where bigcommerce_customer_id = @CustomerId for update
            ), up as (
              insert into commerce_customers as t (user_id, bigcommerce_customer_id, email, link_status, source_modified_at)
              values (@UserId, @CustomerId, @Email, 'linked', @Modified)
              on conflict on constraint commerce_customers_bc_unique do update set
                email = excluded.email,
                link_status = excluded.link_status,
                source_modified_at = excluded.source_modified_at
              where (coalesce(t.source_modified_at, '-infinity'), md5(coalesce(t.email, '')))
                    <= (coalesce(excluded.source_modified_at, '-infinity'), md5(coalesce(excluded.email, '')))
              returning t.id, (t.xmax = 0) as inserted
            )
            select coalesce(up.id, (select id from old)) as "Id", up.inserted as "Inserted",
                   up.id is null and exists (
                     select from old o
                     where (coalesce(o.source_modified_at, '-infinity'), md5(coalesce(o.email, '')))
                           > (coalesce(@Modified::timestamptz, '-infinity'), md5(coalesce(@Email::text, '')))) as "Stale"
            from (select) as one left join up on true
            """;
        return transaction.Connection!.QuerySingleAsync<RowChange>(new CommandDefinition(sql, new
        {
            CustomerId = Key(customer.Id),
            UserId = userId,
            customer.Email,
            Modified = customer.DateModified?.UtcDateTime,
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// <c>store/customer/deleted</c>: the row and its orders stay, marked unlinked, so the owner's
    /// history does not vanish with the shop account.
    /// </summary>
    public static async Task<bool> MarkUnlinkedAsync(NpgsqlTransaction transaction, long customerId, CancellationToken cancellationToken) =>
        await transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "update commerce_customers set link_status = 'unlinked' where bigcommerce_customer_id = @CustomerId and link_status is distinct from 'unlinked'",
            new { CustomerId = Key(customerId) }, transaction, cancellationToken: cancellationToken)) > 0;

    static string Key(long customerId) => customerId.ToString(CultureInfo.InvariantCulture);
}
