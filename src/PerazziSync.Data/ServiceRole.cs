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
    public static Task<NpgsqlTransaction> BeginAsync(
        NpgsqlConnection connection, AuditContext? context, CancellationToken cancellationToken) =>
        BeginAsync(connection, context, null, cancellationToken);

    /// <summary>
    /// <see cref="BeginAsync(NpgsqlConnection, AuditContext?, CancellationToken)"/>, in which
    /// PostgreSQL ends the session once it sits idle inside the transaction for
    /// <paramref name="idleTimeout"/> (null: as the server is set): when the answer to a statement
    /// is lost on a connection that fell silent, the rows the transaction locked are released.
    /// </summary>
    public static async Task<NpgsqlTransaction> BeginAsync(
        NpgsqlConnection connection, AuditContext? context, TimeSpan? idleTimeout, CancellationToken cancellationToken)
    {
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            var idle = idleTimeout is { } timeout
                ? $"set local idle_in_transaction_session_timeout = {(long)Math.Ceiling(timeout.TotalMilliseconds)}; "
                : "";
            // No JIT compilation: the product's statements each write a chunk or a group of rows,
            // and PostgreSQL compiled the larger ones for every chunk of an import, which cost
            // 70-130 ms a chunk, about as much as its claims' whole statement, and more than a
            // second for some (auto_explain, 5,000-row chunks).
            await connection.ExecuteAsync(new CommandDefinition(
                "set local role service_role; set local jit = off; " + idle + "select set_config('perazzi_sync.audit', @Context, true)",
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
