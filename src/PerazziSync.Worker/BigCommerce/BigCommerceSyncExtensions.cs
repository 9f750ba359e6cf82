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

        var cron = builder.Configuration[$"{BigCommerceSyncOptions.Section}:{nameof(BigCommerceSyncOptions.ReconcileCron)}"]
            ?? new BigCommerceSyncOptions().ReconcileCron;
        // An invalid expression is reported by the options validation above, naming the key;
        // the trigger must still be built for the host to get that far.
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddJob<BigCommerceReconciliationJob>(job => job.WithIdentity(BigCommerceReconciliationJob.Key));
            quartz.AddTrigger(trigger => trigger
                .ForJob(BigCommerceReconciliationJob.Key)
                .WithCronSchedule(CronExpression.TryParse(cron, out _) ? cron : "0 0 0 1 1 ? 2099", schedule => schedule
                    .InTimeZone(TimeZoneInfo.Utc)
                    .WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing)));
        });
        return builder;
    }

    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<BigCommerceOrderChangedConsumer, SyncConsumerDefinition<BigCommerceOrderChangedConsumer>>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
    }
}
