using System.Text.Json;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// Attaches parked POS records once their serial belongs to a verified asset: registering and
/// verifying a gun brings its workshop history without an operator.
/// </summary>
[DisallowConcurrentExecution]
public sealed class PosRematchJob(NpgsqlDataSource database, ILogger<PosRematchJob> logger) : IJob
{
    public static readonly JobKey Key = new("pos-rematch");

    const int BatchSize = 1_000;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            return;
        }
        const string due = """
            select p.message::text from perazzi_sync.parked_events p
            where p.source_system = 'perazzi_pos' and p.resolved_at is null
              and exists (
                select 1 from perazzi_assets a
                where a.serial_number = upper(btrim(p.message->>'SerialNumber')) and a.verification_status = 'verified')
            order by p.first_seen_at
            limit @BatchSize
            """;
        var metadata = SyncAudit.Metadata(ServiceEventWriter.SourceSystem, "rematch", null, $"rematch:{scheduledAt.UtcDateTime:O}");
        long attached = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var records = (await connection.QueryAsync<string>(new CommandDefinition(
                    due, new { BatchSize }, transaction, cancellationToken: cancellationToken)))
                .Select(json => JsonSerializer.Deserialize<PosServiceRecord>(json)!)
                .Select(record => new RecordToWrite(record, null))
                .ToList();
            if (records.Count == 0)
            {
                break;
            }
            var counts = await ServiceEventWriter.WriteAsync(transaction, records, metadata, null, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            attached += counts.Applied + counts.Unchanged + counts.Stale;
            if (records.Count < BatchSize)
            {
                break;
            }
        }
        if (attached > 0)
        {
            WorkerLog.Rematched(logger, attached);
        }
    }
}
