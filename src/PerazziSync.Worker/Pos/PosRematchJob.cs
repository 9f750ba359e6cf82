using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using Quartz;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// Attaches parked POS records once their serial belongs to a verified asset, and weighs them as
/// evidence on a gun claimed after they were parked: registering a gun brings its workshop history
/// without an operator once the records name the claimant (or an operator verifies the claim).
/// </summary>
[DisallowConcurrentExecution]
public sealed class PosRematchJob(NpgsqlDataSource database, IOptions<PosOptions> options, ILogger<PosRematchJob> logger) : IJob
{
    public static readonly JobKey Key = new("pos-rematch");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            return;
        }
        var audit = AuditContext.For(ServiceEventRows.SourceSystem, deliveryId: $"rematch:{scheduledAt.UtcDateTime:O}");
        var counts = await ParkedServiceRecords.ReattemptAsync(
            database, onlyAttributable: true, null, null, audit, options.Value.BatchWriteTimeout, cancellationToken);
        var attached = counts.Applied + counts.Unchanged + counts.Stale + counts.Attached;
        if (attached > 0)
        {
            WorkerLog.Rematched(logger, attached);
        }
        if (counts.Verified + counts.Reviewed > 0)
        {
            WorkerLog.RematchWeighed(logger, counts.Verified, counts.Reviewed);
        }
    }
}
