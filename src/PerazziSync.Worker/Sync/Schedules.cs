using Quartz;

namespace PerazziSync.Worker.Sync;

static class Schedules
{
    /// <summary>
    /// A job on a UTC cron schedule, the same in every worker, so replicas agree on its firings;
    /// a firing missed while no worker ran is skipped, not caught up. An invalid
    /// <paramref name="configured"/> expression falls back to <paramref name="fallback"/>, since the
    /// options validation already stops the host naming the key; the trigger must still be built
    /// for the host to get that far.
    /// </summary>
    public static void AddCronJob<TJob>(this IQuartzBuilder quartz, JobKey key, string? configured, string fallback)
        where TJob : class, IJob
    {
        var cron = configured is not null && CronExpression.TryParse(configured, out _) ? configured : fallback;
        quartz.AddJob<TJob>(job => job.WithIdentity(key));
        quartz.AddTrigger(trigger => trigger
            .ForJob(key)
            .WithCronSchedule(cron, schedule => schedule
                .InTimeZone(TimeZoneInfo.Utc)
                .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
    }
}
