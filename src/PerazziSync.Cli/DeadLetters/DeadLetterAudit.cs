using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>One <c>audit_log</c> row per message an operator replayed or purged, in one transaction per batch.</summary>
sealed class DeadLetterAudit(NpgsqlDataSource database, string operatorName)
{
    public const string Replay = "dlq.replay";
    public const string Purge = "dlq.purge";

    /// <summary>
    /// Starts the transaction a batch's audit rows are written in. It starts before the batch is
    /// republished, so the rows carry a time (the transaction's) earlier than any change a
    /// consumer makes from the replayed messages.
    /// </summary>
    public async Task<Batch> BeginAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition("set local role service_role", transaction: transaction, cancellationToken: cancellationToken));
            return new Batch(this, connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public sealed class Batch(DeadLetterAudit audit, NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        /// <summary>Writes one row per letter and commits.</summary>
        public async Task CommitAsync(string action, IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken)
        {
            const string sql = """
                insert into audit_log (actor_role, action, object_type, object_id, metadata)
                select 'operator', @Action, 'message', m.id, m.metadata::jsonb
                from unnest(@Ids, @Metadata) as m(id, metadata)
                """;
            if (letters.Count > 0)
            {
                await connection.ExecuteAsync(new CommandDefinition(sql, new
                {
                    Action = action,
                    Ids = letters.Select(l => l.MessageId ?? "").ToArray(),
                    Metadata = letters.Select(l => audit.Metadata(action, l).ToJsonString()).ToArray(),
                }, transaction, cancellationToken: cancellationToken));
            }
            await transaction.CommitAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    JsonObject Metadata(string action, DeadLetter letter)
    {
        var metadata = new JsonObject
        {
            ["operator"] = operatorName,
            ["queue"] = letter.Queue,
            ["message_id"] = letter.MessageId,
            ["message_type"] = letter.MessageType,
            ["source_key"] = letter.SourceKey,
            ["faulted_at"] = letter.FaultedAt?.ToString("O", CultureInfo.InvariantCulture),
            ["exception_type"] = letter.ExceptionType,
            ["exception_message"] = letter.ExceptionMessage,
        };
        if (action == Replay)
        {
            metadata["replayed_to"] = letter.InputQueue;
        }
        else
        {
            // A purged message is gone from the broker: the audit row keeps what it was.
            metadata["body"] = letter.BodyForAudit();
        }
        return metadata;
    }
}
