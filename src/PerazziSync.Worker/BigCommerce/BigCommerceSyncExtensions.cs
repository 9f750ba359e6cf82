using MassTransit;
using PerazziSync.BigCommerce;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

public static class BigCommerceSyncExtensions
{
    /// <summary>The BigCommerce client, the order and customer consumers and the reconciliation job.</summary>
    public static IHostApplicationBuilder AddBigCommerceSync(this IHostApplicationBuilder builder)
    {
        builder.AddBigCommerceClient();
        builder.Services.AddOptions<BigCommerceSyncOptions>()
            .BindConfiguration(BigCommerceSyncOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => CronExpression.TryParse(o.ReconcileCron, out _),
                "BigCommerce:ReconcileCron is not a valid Quartz cron expression")
            .ValidateOnStart();

        builder.Services.AddQuartz(quartz => quartz.AddCronJob<BigCommerceReconciliationJob>(
            BigCommerceReconciliationJob.Key,
            builder.Configuration[$"{BigCommerceSyncOptions.Section}:{nameof(BigCommerceSyncOptions.ReconcileCron)}"],
            new BigCommerceSyncOptions().ReconcileCron));
        return builder;
    }

    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<BigCommerceOrderChangedConsumer, SyncConsumerDefinition<BigCommerceOrderChangedConsumer>>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
    }
}
