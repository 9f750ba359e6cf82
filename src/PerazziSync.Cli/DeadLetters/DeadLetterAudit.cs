using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>
/// One <c>audit_log</c> row per message an operator replayed or purged, in one transaction per
/// batch. What a row quotes of a message came from whoever sent it; it is made storable, since a
/// row the database refuses fails the whole batch's, run after run.
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

    Task WriteAsync(NpgsqlTransaction transaction, string action, IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken) =>
        operatorAudit.WriteAsync(transaction, action, "message",
            letters.Select(l => (Storable(l.MessageId) ?? "", Metadata(action, l))).ToList(), cancellationToken);

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
        else
        {
            // A purged message is gone from the broker: the audit row keeps what it was.
            metadata["body"] = letter.BodyForAudit();
        }
        return metadata;
    }

    /// <summary>NUL and lone surrogates as U+FFFD; nothing cut, the row being the record of what was there.</summary>
    static string? Storable(string? text) => StorableText.Of(text, int.MaxValue);
}
