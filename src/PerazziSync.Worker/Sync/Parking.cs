using Dapper;
using Npgsql;

namespace PerazziSync.Worker.Sync;

/// <summary>Valid events that cannot be attributed yet (SPEC section 7).</summary>
static class Parking
{
    public static Task ParkAsync(
        NpgsqlTransaction transaction, string sourceSystem, string sourceKey, string reason,
        string messageType, string message, Guid? messageId, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.parked_events as p
              (source_system, source_key, reason, message_type, message, message_id)
            values (@SourceSystem, @SourceKey, @Reason, @MessageType, @Message::jsonb, @MessageId)
            on conflict on constraint parked_events_source_unique do update set
              reason = excluded.reason,
              message_type = excluded.message_type,
              message = excluded.message,
              message_id = excluded.message_id,
              attempts = p.attempts + 1,
              last_seen_at = now(),
              resolved_at = null
            """;
        return transaction.Connection!.ExecuteAsync(new CommandDefinition(sql, new
        {
            SourceSystem = sourceSystem,
            SourceKey = sourceKey,
            Reason = reason,
            MessageType = messageType,
            Message = message,
            MessageId = messageId?.ToString(),
        }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>The entity was attributed after all: its parked event is done.</summary>
    public static Task ResolveAsync(NpgsqlTransaction transaction, string sourceSystem, string sourceKey, CancellationToken cancellationToken)
    {
        const string sql = """
            update perazzi_sync.parked_events set resolved_at = now(), last_seen_at = now()
            where source_system = @SourceSystem and source_key = @SourceKey and resolved_at is null
            """;
        return transaction.Connection!.ExecuteAsync(new CommandDefinition(
            sql, new { SourceSystem = sourceSystem, SourceKey = sourceKey }, transaction, cancellationToken: cancellationToken));
    }
}
