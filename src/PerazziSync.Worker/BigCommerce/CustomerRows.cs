using Dapper;
using Npgsql;
using PerazziSync.BigCommerce;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>Where a BigCommerce customer becomes a <c>commerce_customers</c> row.</summary>
static class CustomerRows
{
    public sealed record Existing(Guid Id, Guid UserId);

    /// <summary>Whether the customer has a row; read outside any transaction, before deciding to fetch it.</summary>
    public static async Task<bool> ExistsAsync(NpgsqlConnection connection, long customerId, CancellationToken cancellationToken) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select exists (select 1 from commerce_customers where bigcommerce_customer_id = @CustomerId)",
            new { CustomerId = customerId.ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken: cancellationToken));

    public static Task<Existing?> FindAsync(NpgsqlTransaction transaction, long customerId, CancellationToken cancellationToken)
    {
        const string sql = """
            select id as "Id", user_id as "UserId" from commerce_customers
            where bigcommerce_customer_id = @CustomerId
            """;
        return transaction.Connection!.QueryFirstOrDefaultAsync<Existing?>(new CommandDefinition(
            sql, new { CustomerId = customerId.ToString(System.Globalization.CultureInfo.InvariantCulture) }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The portal user a new customer may be linked to: the one whose auth e-mail equals the
    /// customer's, ignoring case, and is confirmed. BigCommerce does not verify e-mails, so an
    /// unconfirmed sign-up with someone else's address must never get their orders. The service
    /// role has no privilege on <c>auth.users</c> (on Supabase it belongs to GoTrue); it asks the
    /// product's own narrow function instead (see schema/0008).
    /// </summary>
    public static async Task<(Guid? UserId, string? Reason)> FindPortalUserAsync(
        NpgsqlTransaction transaction, string? email, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return (null, "customer_without_email");
        }
        const string sql = """
            select user_id as "UserId", ambiguous as "Ambiguous" from perazzi_sync.confirmed_portal_user(@Email)
            """;
        var match = await transaction.Connection!.QuerySingleAsync<(Guid? UserId, bool Ambiguous)>(new CommandDefinition(
            sql, new { Email = email }, transaction, cancellationToken: cancellationToken));
        return match switch
        {
            { UserId: { } userId } => (userId, null),
            { Ambiguous: true } => (null, "ambiguous_portal_user"),
            _ => (null, "no_confirmed_portal_user"),
        };
    }

    /// <summary>
    /// Inserts or updates the customer and writes one audit row when something changed. The
    /// user is set on insert only: a linked customer is never moved to another user by a later
    /// change upstream. A snapshot older than the stored one changes nothing; versions are
    /// ordered as the orders' are (date_modified, none before any, then the digest of the e-mail).
    /// </summary>
    public static async Task<RowChange> UpsertAsync(
        NpgsqlTransaction transaction, BigCommerceCustomer customer, Guid userId, string linkStatus,
        string auditMetadata, CancellationToken cancellationToken)
    {
        const string sql = """
            with old as (
              select * from commerce_customers where bigcommerce_customer_id = @CustomerId for update
            ), new as (
              select @UserId::uuid as user_id, @CustomerId::text as bigcommerce_customer_id, @Email::text as email,
                     @LinkStatus::text as link_status, @Modified::timestamptz as source_modified_at
            ), diff as (
              select coalesce((coalesce(o.source_modified_at, '-infinity'), md5(coalesce(o.email, '')))
                              > (coalesce(n.source_modified_at, '-infinity'), md5(coalesce(n.email, ''))), false) as stale,
                     o.source_modified_at as previous_version,
                     array_remove(array[
                       case when o.id is null then 'user_id' end,
                       case when o.id is null then 'bigcommerce_customer_id' end,
                       case when o.email is distinct from n.email then 'email' end,
                       case when o.link_status is distinct from n.link_status then 'link_status' end,
                       case when o.source_modified_at is distinct from n.source_modified_at then 'source_modified_at' end
                     ], null) as changed
              from new n left join old o on true
            ), up as (
              insert into commerce_customers as t (user_id, bigcommerce_customer_id, email, link_status, source_modified_at)
              select n.user_id, n.bigcommerce_customer_id, n.email, n.link_status, n.source_modified_at
              from new n, diff d
              where not d.stale and cardinality(d.changed) > 0
              on conflict on constraint commerce_customers_bc_unique do update set
                email = excluded.email,
                link_status = excluded.link_status,
                source_modified_at = excluded.source_modified_at
              where (coalesce(t.source_modified_at, '-infinity'), md5(coalesce(t.email, '')))
                    <= (coalesce(excluded.source_modified_at, '-infinity'), md5(coalesce(excluded.email, '')))
              returning t.id, (t.xmax = 0) as inserted
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'commerce.customer.upsert', 'commerce_customer', up.id::text,
                     @Metadata::jsonb || jsonb_build_object(
                       'operation', case when up.inserted then 'insert' else 'update' end,
                       'changed_fields', to_jsonb(d.changed),
                       'version', n.source_modified_at,
                       'previous_version', d.previous_version)
              from up, diff d, new n
            )
            select coalesce(up.id, (select id from old)) as "Id", up.inserted as "Inserted",
                   d.stale or (cardinality(d.changed) > 0 and up.id is null) as "Stale", d.changed as "Changed"
            from diff d left join up on true
            """;
        return await transaction.Connection!.QuerySingleAsync<RowChange>(new CommandDefinition(sql, new
        {
            CustomerId = customer.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            UserId = userId,
            customer.Email,
            LinkStatus = linkStatus,
            Modified = customer.DateModified?.UtcDateTime,
            Metadata = auditMetadata,
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// <c>store/customer/deleted</c>: the row and its orders stay, marked unlinked, so the owner's
    /// history does not vanish with the shop account.
    /// </summary>
    public static async Task<bool> MarkUnlinkedAsync(
        NpgsqlTransaction transaction, long customerId, string auditMetadata, CancellationToken cancellationToken)
    {
        const string sql = """
            with up as (
              update commerce_customers set link_status = 'unlinked'
              where bigcommerce_customer_id = @CustomerId and link_status is distinct from 'unlinked'
              returning id
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'commerce.customer.unlink', 'commerce_customer', up.id::text,
                     @Metadata::jsonb || jsonb_build_object('operation', 'update', 'changed_fields', jsonb_build_array('link_status'))
              from up
            )
            select count(*) from up
            """;
        var changed = await transaction.Connection!.ExecuteScalarAsync<long>(new CommandDefinition(sql, new
        {
            CustomerId = customerId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Metadata = auditMetadata,
        }, transaction, cancellationToken: cancellationToken));
        return changed > 0;
    }
}

/// <summary>What an upsert did to its row.</summary>
public sealed class RowChange
{
    /// <summary>The row, whether it changed or not; null when a stale snapshot met no row.</summary>
    public Guid? Id { get; init; }

    /// <summary>True for an insert, false for an update, null when nothing was written.</summary>
    public bool? Inserted { get; init; }

    /// <summary>The snapshot was older than the stored row and was not applied.</summary>
    public bool Stale { get; init; }

    public string[] Changed { get; init; } = [];

    public bool IsChange => Inserted is not null;
}
