using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Rows;

namespace PerazziSync.Worker.Pos;

/// <summary>Applies one POS callback through the same set-based statement as the batch imports (<see cref="ServiceEventRows"/>).</summary>
public sealed class PosServiceRecordReceivedConsumer(
    [FromKeyedServices(PortalDatabase.TransactionScoped)] NpgsqlDataSource database,
    TimeProvider time,
    ILogger<PosServiceRecordReceivedConsumer> logger)
    : IConsumer<PosServiceRecordReceived>
{
    public async Task Consume(ConsumeContext<PosServiceRecordReceived> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await ServiceRole.BeginAsync(connection, null, cancellationToken);
        var audit = AuditContext.For(ServiceEventRows.SourceSystem, message.Record.SourceRecordId, context.MessageId, message.WebhookId);
        var counts = await ServiceEventRows.WriteOneAsync(transaction, message.Record, audit, context.MessageId?.ToString(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var outcome = counts.Outcome;
        if (outcome == SyncOutcome.Applied)
        {
            Telemetry.RecordLag(ServiceEventRows.SourceSystem, message.Record.UpdatedAt, time);
        }
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(PosServiceRecordReceived)), new("outcome", outcome.Name()));
        WorkerLog.PosOutcome(logger, message.Record.SourceRecordId, outcome.Name());
        if (counts.Verified > 0)
        {
            WorkerLog.PosClaimVerified(logger, message.Record.SourceRecordId, counts.Attached);
        }
    }
}
