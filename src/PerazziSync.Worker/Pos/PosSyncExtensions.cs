using MassTransit;
using Microsoft.Extensions.Options;
using PerazziSync.Pos;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.Pos;

public static class PosSyncExtensions
{
    /// <summary>The POS callback consumer, the drop-folder import and the re-match of parked records.</summary>
    public static IHostApplicationBuilder AddPosSync(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<PosOptions>()
            .BindConfiguration(PosOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => PosTime.IsKnownZone(o.TimeZone), "Pos:TimeZone is not a known IANA time zone")
            .Validate(o => CronExpression.TryParse(o.RematchCron, out _), "Pos:RematchCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.DropFolderCron, out _), "Pos:DropFolderCron is not a valid Quartz cron expression")
            .Validate(o => string.IsNullOrWhiteSpace(o.DropFolder) || Directory.Exists(o.DropFolder),
                "Pos:DropFolder does not exist")
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new PosRecordParser(sp.GetRequiredService<IOptions<PosOptions>>().Value.Zone()));

        var section = builder.Configuration.GetSection(PosOptions.Section);
        var defaults = new PosOptions();
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddJob<PosRematchJob>(job => job.WithIdentity(PosRematchJob.Key));
            quartz.AddTrigger(trigger => trigger
                .ForJob(PosRematchJob.Key)
                .WithCronSchedule(Cron(section[nameof(PosOptions.RematchCron)], defaults.RematchCron), schedule => schedule
                    .InTimeZone(TimeZoneInfo.Utc)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
            if (!string.IsNullOrWhiteSpace(section[nameof(PosOptions.DropFolder)]))
            {
                quartz.AddJob<PosDropFolderJob>(job => job.WithIdentity(PosDropFolderJob.Key));
                quartz.AddTrigger(trigger => trigger
                    .ForJob(PosDropFolderJob.Key)
                    .WithCronSchedule(Cron(section[nameof(PosOptions.DropFolderCron)], defaults.DropFolderCron), schedule => schedule
                        .InTimeZone(TimeZoneInfo.Utc)
                        .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
            }
        });
        return builder;
    }

    public static void AddPosConsumers(this IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<PosServiceRecordReceivedConsumer, SyncConsumerDefinition<PosServiceRecordReceivedConsumer>>();

    /// <summary>
    /// An invalid expression is reported by the options validation, naming the key; the trigger
    /// must still be built for the host to get that far.
    /// </summary>
    static string Cron(string? configured, string fallback) =>
        configured is null ? fallback : CronExpression.TryParse(configured, out _) ? configured : fallback;
}
