using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>
/// One <c>audit_log</c> row per message an operator replayed or purged, in one transaction per
/// batch, and the body of each purged one in <c>perazzi_sync.purged_messages</c>. What a row quotes
/// of a message came from whoever sent it; it is made storable, since a row the database refuses
/// fails the whole batch's, run after run.
/// </summary>
sealed class DeadLetterAudit(NpgsqlDataSource database, OperatorAudit operatorAudit)
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
            var transaction = await ServiceRole.BeginAsync(connection, null, cancellationToken);
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
            await audit.WriteAsync(transaction, action, letters, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    async Task WriteAsync(NpgsqlTransaction transaction, string action, IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken)
    {
        // A purged message is gone from the broker: its body is kept beside its audit row, in a
        // table of the product's that no portal role reads (schema/0025), since a POS callback's
        // body names the workshop customer and portal admins read the audit log.
        const string keepBodies = """
            insert into perazzi_sync.purged_messages (audit_id, body)
            select * from unnest(@AuditIds, @Bodies::jsonb[])
            """;
        var rows = await operatorAudit.WriteAsync(transaction, action, "message",
            letters.Select(l => (Storable(l.MessageId) ?? "", Metadata(action, l))).ToList(), cancellationToken);
        if (action == Purge && rows.Count > 0)
        {
            await transaction.Connection!.ExecuteAsync(new CommandDefinition(keepBodies, new
            {
                AuditIds = rows.ToArray(),
                Bodies = letters.Select(l => l.BodyToKeep().ToJsonString()).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
    }

    static JsonObject Metadata(string action, DeadLetter letter)
    {
        var metadata = new JsonObject
        {
            ["queue"] = letter.Queue,
            ["message_id"] = Storable(letter.MessageId),
            ["message_type"] = Storable(letter.MessageType),
            ["source_key"] = Storable(letter.SourceKey),
            ["faulted_at"] = letter.FaultedAt?.ToString("O", CultureInfo.InvariantCulture),
            ["exception_type"] = Storable(letter.ExceptionType),
            ["exception_message"] = Storable(letter.ExceptionMessage),
        };
        if (action == Replay)
        {
            metadata["replayed_to"] = letter.InputQueue;
        }
        return metadata;
    }

    /// <summary>NUL and lone surrogates as U+FFFD; nothing cut, the row being the record of what was there.</summary>
    static string? Storable(string? text) => StorableText.Of(text, int.MaxValue);
}
