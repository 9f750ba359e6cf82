using MassTransit;
using PerazziSync.Pos.Records;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.Pos;

public static class PosSyncExtensions
{
    /// <summary>The POS callback consumer, the drop-folder import, the re-match of parked records and the asset counts.</summary>
    public static IHostApplicationBuilder AddPosSync(this IHostApplicationBuilder builder)
    {
        builder.AddPosOptions()
            .Validate(o => CronExpression.TryParse(o.RematchCron, out _), "Pos:RematchCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.DropFolderCron, out _), "Pos:DropFolderCron is not a valid Quartz cron expression")
            .Validate(o => string.IsNullOrWhiteSpace(o.DropFolder) || Directory.Exists(o.DropFolder),
                "Pos:DropFolder does not exist");

        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<PosRematchJob, PosOptions>(PosRematchJob.Key, o => o.RematchCron);
            quartz.AddCronJob<AssetCountJob, PosOptions>(AssetCountJob.Key, o => o.RematchCron);
            quartz.AddCronJob<PosDropFolderJob, PosOptions>(PosDropFolderJob.Key, o => o.DropFolderCron);
        });
        return builder;
    }

    /// <summary>The POS callback consumer and the writer its messages share (<see cref="PosCallbackCommitter"/>).</summary>
    public static void AddPosConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.TryAddSingleton<PosCallbackCommitter>();
        bus.AddConsumer<PosServiceRecordReceivedConsumer, PosServiceRecordReceivedConsumerDefinition>();
    }
}
