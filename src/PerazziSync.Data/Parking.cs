using Dapper;
using Npgsql;

namespace PerazziSync.Data;

/// <summary>
/// Valid events that cannot be attributed yet (docs/failures.md), through the database's own
/// <c>perazzi_sync.park</c> and <c>resolve_parked</c>, which set-based writers call too.
/// </summary>
public static class Parking
{
    /// <summary>Parks <paramref name="message"/> (JSON) with its reason; a repeat counts one attempt more.</summary>
    public static Task ParkAsync(
        NpgsqlTransaction transaction, string sourceSystem, string sourceKey, string reason,
        string messageType, string message, Guid? messageId, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "select perazzi_sync.park(@SourceSystem, @SourceKey, @Reason, @MessageType, @Message::jsonb, @MessageId, null, null)",
            new
            {
                SourceSystem = sourceSystem,
                SourceKey = sourceKey,
                Reason = reason,
                MessageType = messageType,
                Message = message,
                MessageId = messageId?.ToString(),
            }, transaction, cancellationToken: cancellationToken));

    /// <summary>The entity was attributed after all: its parked event is done.</summary>
    public static Task ResolveAsync(NpgsqlTransaction transaction, string sourceSystem, string sourceKey, CancellationToken cancellationToken) =>
        transaction.Connection!.ExecuteAsync(new CommandDefinition(
            "select perazzi_sync.resolve_parked(@SourceSystem, @SourceKey, null, null)",
            new { SourceSystem = sourceSystem, SourceKey = sourceKey }, transaction, cancellationToken: cancellationToken));
}
