using Dapper;
using Npgsql;

namespace PerazziSync.Data;

/// <summary>
/// The one way the product writes the portal's data: a transaction in which every statement runs
/// as <c>service_role</c> (docs/security-model.md), with the audit context of its changes.
/// </summary>
public static class ServiceRole
{
    /// <summary>Begins the transaction, switches to the service role and hands over <paramref name="context"/>, in one round trip.</summary>
    public static async Task<NpgsqlTransaction> BeginAsync(
        NpgsqlConnection connection, AuditContext? context, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "set local role service_role; select set_config('perazzi_sync.audit', @Context, true)",
                new { Context = context?.ToJson() ?? "" }, transaction, cancellationToken: cancellationToken));
            return transaction;
        }
        catch
        {
            await transaction.DisposeAsync();
            throw;
        }
    }

    /// <summary>Replaces the audit context of the rest of <paramref name="transaction"/>.</summary>
    public static Task UseAsync(NpgsqlTransaction transaction, AuditContext context, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "select set_config('perazzi_sync.audit', @Context, true)", new { Context = context.ToJson() }, transaction,
            cancellationToken: cancellationToken));
}
