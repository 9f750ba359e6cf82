using System.Diagnostics;
using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// Applies one POS callback through the same set-based statement as the batch imports
/// (<see cref="ServiceEventRows"/>), in a transaction shared with the callbacks the other
/// consumers hold at the same moment (<see cref="PosCallbackCommitter"/>); its outcome, metric,
/// log line and failure stay its own.
/// </summary>
public sealed class PosServiceRecordReceivedConsumer(
    PosCallbackCommitter committer,
    TimeProvider time,
    ILogger<PosServiceRecordReceivedConsumer> logger)
    : IConsumer<PosServiceRecordReceived>
{
    public async Task Consume(ConsumeContext<PosServiceRecordReceived> context)
    {
        var message = context.Message;
        var origin = new MessageOrigin(context.MessageId?.ToString(), message.WebhookId, Activity.Current?.TraceId.ToString());
        var (outcome, attached) = await committer.WriteAsync(new PosCallback(message.Record, origin), context.CancellationToken);

        if (outcome == SyncOutcome.Applied)
        {
            Telemetry.RecordLag(ServiceEventRows.SourceSystem, message.Record.UpdatedAt, time);
        }
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(PosServiceRecordReceived)), new("outcome", outcome.Name()));
        WorkerLog.PosOutcome(logger, message.Record.SourceRecordId, outcome.Name());
        if (attached is { } records)
        {
            WorkerLog.PosClaimVerified(logger, message.Record.SourceRecordId, records);
        }
    }
}

/// <summary>
/// The sync endpoint (<see cref="SyncConsumerDefinition{TConsumer}"/>) with room for a group:
/// as many callbacks at once as a group may hold and more, so the next group gathers while one
/// is written.
/// </summary>
public sealed class PosServiceRecordReceivedConsumerDefinition()
    : SyncConsumerDefinition<PosServiceRecordReceivedConsumer>(PosOptions.CallbacksInFlight);
