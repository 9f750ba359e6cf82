using MassTransit;
using PerazziSync.BigCommerce;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

public static class BigCommerceSyncExtensions
{
    /// <summary>The BigCommerce client, the order and customer consumers, the reconciliation and the re-attempt of parked events.</summary>
    public static IHostApplicationBuilder AddBigCommerceSync(this IHostApplicationBuilder builder)
    {
        builder.AddBigCommerceClient();
        builder.Services.AddOptions<BigCommerceSyncOptions>()
            .BindConfiguration(BigCommerceSyncOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => CronExpression.TryParse(o.ReconcileCron, out _),
                "BigCommerce:ReconcileCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.ParkedRetryCron, out _),
                "BigCommerce:ParkedRetryCron is not a valid Quartz cron expression")
            .ValidateOnStart();

        var section = builder.Configuration.GetSection(BigCommerceSyncOptions.Section);
        var defaults = new BigCommerceSyncOptions();
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<BigCommerceReconciliationJob>(
                BigCommerceReconciliationJob.Key, section[nameof(BigCommerceSyncOptions.ReconcileCron)], defaults.ReconcileCron);
            quartz.AddCronJob<ParkedBigCommerceRetryJob>(
                ParkedBigCommerceRetryJob.Key, section[nameof(BigCommerceSyncOptions.ParkedRetryCron)], defaults.ParkedRetryCron);
        });
        return builder;
    }

    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<BigCommerceOrderChangedConsumer, SyncConsumerDefinition<BigCommerceOrderChangedConsumer>>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
    }
}
