using Dapper;
using Npgsql;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.Data;

namespace PerazziSync.BigCommerce.Sync;

/// <summary>
/// The one place a BigCommerce customer is linked to a portal user (docs/sync-rules.md): once
/// linked, always the same user; otherwise the portal user whose confirmed auth e-mail matches,
/// ignoring case. BigCommerce does not verify e-mails, so an unconfirmed sign-up with someone
/// else's address must never get their orders.
/// </summary>
public static class CustomerLinking
{
    /// <summary>Where the customer stands after <see cref="ApplyAsync"/>: its row, or why it is parked.</summary>
    public sealed record Result(Guid? CustomerRowId, string? ParkReason, RowChange? Change);

    /// <summary>
    /// Writes the customer of <paramref name="snapshot"/> (null: BigCommerce no longer knows it)
    /// linked to its user, records the fetch and resolves its parked event; or says why it cannot
    /// be linked yet.
    /// </summary>
    public static async Task<Result> ApplyAsync(
        NpgsqlTransaction transaction, string storeHash, CustomerSnapshot? snapshot, CancellationToken cancellationToken)
    {
        if (snapshot is null)
        {
            return new Result(null, "customer_not_found", null);
        }
        var customer = snapshot.Customer;
        Guid userId;
        if (await CustomerRows.FindAsync(transaction, customer.Id, cancellationToken) is { } existing)
        {
            // A later e-mail change upstream needs an operator, not a silent move to another user.
            userId = existing.UserId;
        }
        else
        {
            var (found, reason) = await FindPortalUserAsync(transaction, customer.Email, cancellationToken);
            if (found is null)
            {
                return new Result(null, reason, null);
            }
            userId = found.Value;
        }
        var change = await CustomerRows.UpsertAsync(transaction, customer, userId, cancellationToken);
        await Coalescing.RecordFetchAsync(transaction, storeHash, "customer", customer.Id, snapshot.FetchStartedAt, cancellationToken);
        await Parking.ResolveAsync(transaction, SourceSystem.Name, SourceSystem.CustomerKey(customer.Id), cancellationToken);
        return new Result(change.Id, null, change);
    }

    /// <summary>
    /// The confirmed portal user with this e-mail. The service role has no privilege on
    /// <c>auth.users</c> (on Supabase it belongs to GoTrue); it asks the product's own narrow
    /// function instead (docs/security-model.md).
    /// </summary>
    static async Task<(Guid? UserId, string? Reason)> FindPortalUserAsync(
        NpgsqlTransaction transaction, string? email, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return (null, "customer_without_email");
        }
        var match = await transaction.Connection!.QuerySingleAsync<(Guid? UserId, bool Ambiguous)>(new CommandDefinition(
            "select user_id, ambiguous from perazzi_sync.confirmed_portal_user(@Email)",
            new { Email = email }, transaction, cancellationToken: cancellationToken));
        return match switch
        {
            { UserId: { } userId } => (userId, null),
            { Ambiguous: true } => (null, "ambiguous_portal_user"),
            _ => (null, "no_confirmed_portal_user"),
        };
    }
}
