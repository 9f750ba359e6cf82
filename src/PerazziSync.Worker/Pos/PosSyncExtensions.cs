using MassTransit;
using PerazziSync.Pos;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.Pos;

public static class PosSyncExtensions
{
    /// <summary>The POS callback consumer, the drop-folder import and the re-match of parked records.</summary>
    public static IHostApplicationBuilder AddPosSync(this IHostApplicationBuilder builder)
    {
        builder.AddPosOptions()
            .Validate(o => CronExpression.TryParse(o.RematchCron, out _), "Pos:RematchCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.DropFolderCron, out _), "Pos:DropFolderCron is not a valid Quartz cron expression")
            .Validate(o => string.IsNullOrWhiteSpace(o.DropFolder) || Directory.Exists(o.DropFolder),
                "Pos:DropFolder does not exist");

        var section = builder.Configuration.GetSection(PosOptions.Section);
        var defaults = new PosOptions();
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<PosRematchJob>(PosRematchJob.Key, section[nameof(PosOptions.RematchCron)], defaults.RematchCron);
            if (!string.IsNullOrWhiteSpace(section[nameof(PosOptions.DropFolder)]))
            {
                quartz.AddCronJob<PosDropFolderJob>(PosDropFolderJob.Key, section[nameof(PosOptions.DropFolderCron)], defaults.DropFolderCron);
            }
        });
        return builder;
    }

    public static void AddPosConsumers(this IBusRegistrationConfigurator bus) =>
        bus.AddConsumer<PosServiceRecordReceivedConsumer, SyncConsumerDefinition<PosServiceRecordReceivedConsumer>>();
}
