using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos;
using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.Pos;

/// <summary>Applies one POS callback through the same set-based writer as the batch imports.</summary>
public sealed class PosServiceRecordReceivedConsumer(
    [FromKeyedServices(ServiceDefaultsExtensions.TransactionScoped)] NpgsqlDataSource database,
    TimeProvider time,
    ILogger<PosServiceRecordReceivedConsumer> logger)
    : IConsumer<PosServiceRecordReceived>
{
    public async Task Consume(ConsumeContext<PosServiceRecordReceived> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var metadata = SyncAudit.Metadata(ServiceEventWriter.SourceSystem, message.Record.SourceRecordId, context.MessageId, message.WebhookId);
        var counts = await ServiceEventWriter.WriteOneAsync(transaction, message.Record, metadata, context.MessageId?.ToString(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var outcome = counts.Applied > 0 ? "applied" : counts.Parked > 0 ? "parked" : counts.Stale > 0 ? "stale" : "unchanged";
        if (counts.Applied > 0)
        {
            Telemetry.RecordLag(ServiceEventWriter.SourceSystem, message.Record.UpdatedAt, time);
        }
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(PosServiceRecordReceived)), new("outcome", outcome));
        WorkerLog.PosOutcome(logger, message.Record.SourceRecordId, outcome);
    }
}
