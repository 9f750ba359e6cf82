using Npgsql;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.Data;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// The check of the store's subscriptions (<see cref="HookWatch"/>): at the worker's start, so its
/// health tells a deployer at once what the hooks lack, and on the schedule, once per firing across
/// workers.
/// </summary>
[DisallowConcurrentExecution]
public sealed class BigCommerceHooksJob(NpgsqlDataSource database, HookWatch watch, ILogger<BigCommerceHooksJob> logger) : IJob
{
    public static readonly JobKey Key = new("bigcommerce-hooks");

    /// <summary>
    /// The check at start, fired again every <see cref="BigCommerceSyncOptions.HooksCheckRetryAtStart"/>
    /// until one has been made.
    /// </summary>
    public static readonly TriggerKey AtStart = new("bigcommerce-hooks-at-start");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        if (context.Trigger.Key.Equals(AtStart))
        {
            // Workers started together share one check: one begun after this worker started saw
            // what this one would.
            await watch.CheckAsync(HookCheckTrigger.AtStart(context.Trigger.StartTimeUtc), cancellationToken);
            await context.Scheduler.UnscheduleJob(AtStart, cancellationToken);
            return;
        }
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            WorkerLog.FiringTaken(logger, Key.Name, scheduledAt);
            return;
        }
        await watch.CheckAsync(HookCheckTrigger.Schedule, cancellationToken);
    }
}
