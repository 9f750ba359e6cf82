using MassTransit;
using PerazziSync.BigCommerce.Api;
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

        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<BigCommerceReconciliationJob, BigCommerceSyncOptions>(BigCommerceReconciliationJob.Key, o => o.ReconcileCron);
            quartz.AddCronJob<ParkedBigCommerceRetryJob, BigCommerceSyncOptions>(ParkedBigCommerceRetryJob.Key, o => o.ParkedRetryCron);
        });
        return builder;
    }

    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<BigCommerceOrderChangedConsumer, SyncConsumerDefinition<BigCommerceOrderChangedConsumer>>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
    }
}
