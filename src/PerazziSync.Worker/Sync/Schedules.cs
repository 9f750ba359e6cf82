using Microsoft.Extensions.Options;
using Quartz;

namespace PerazziSync.Worker.Sync;

static class Schedules
{
    /// <summary>
    /// A job on a UTC cron schedule, the same in every worker, so replicas agree on its firings; a
    /// firing missed while no worker ran is skipped, not caught up. The expression comes from the
    /// validated <typeparamref name="TOptions"/> when the scheduler starts, after validation
    /// has refused an invalid one with the key's name.
    /// </summary>
    public static void AddCronJob<TJob, TOptions>(this IQuartzBuilder quartz, JobKey key, Func<TOptions, string> cron)
        where TJob : class, IJob
        where TOptions : class
    {
        quartz.AddJob<TJob>(job => job.WithIdentity(key));
        quartz.AddTrigger<TJob>((services, trigger) => trigger
            .ForJob(key)
            .WithCronSchedule(cron(services.GetRequiredService<IOptions<TOptions>>().Value), schedule => schedule
                .InTimeZone(TimeZoneInfo.Utc)
                .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
    }
}
