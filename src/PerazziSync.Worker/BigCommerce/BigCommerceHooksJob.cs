using Npgsql;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.Data;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>The scheduled check of the store's subscriptions (<see cref="HookWatch"/>), once per firing across workers.</summary>
[DisallowConcurrentExecution]
public sealed class BigCommerceHooksJob(NpgsqlDataSource database, HookWatch watch, ILogger<BigCommerceHooksJob> logger) : IJob
{
    public static readonly JobKey Key = new("bigcommerce-hooks");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            WorkerLog.FiringTaken(logger, Key.Name, scheduledAt);
            return;
        }
        await watch.CheckAsync(HookCheckTrigger.Schedule, cancellationToken);
    }
}
