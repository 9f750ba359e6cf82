using MassTransit;
using Microsoft.Extensions.Options;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

public static class BigCommerceSyncExtensions
{
    /// <summary>
    /// The BigCommerce client, the reconciliation, the re-attempt of parked events and the check of
    /// the store's subscriptions (at start and on its schedule). Without a store
    /// (<see cref="BigCommerceOptions.WaitsForStore"/>) no job runs, and readiness says the worker
    /// waits for one.
    /// </summary>
    public static IHostApplicationBuilder AddBigCommerceSync(this IHostApplicationBuilder builder)
    {
        builder.AddBigCommerceClient();
        builder.AddHookWatch();
        builder.Services.AddOptions<BigCommerceSyncOptions>()
            .BindConfiguration(BigCommerceSyncOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => CronExpression.TryParse(o.ReconcileCron, out _),
                "BigCommerce:ReconcileCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.ParkedRetryCron, out _),
                "BigCommerce:ParkedRetryCron is not a valid Quartz cron expression")
            .Validate(o => CronExpression.TryParse(o.HooksCheckCron, out _),
                "BigCommerce:HooksCheckCron is not a valid Quartz cron expression")
            .ValidateOnStart();
        if (BigCommerceOptions.WaitsForStoreIn(builder.Configuration))
        {
            return builder;
        }

        builder.Services.AddSingleton<OrderFetches>();
        builder.Services.AddSingleton<OrderApplication>();
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<BigCommerceReconciliationJob, BigCommerceSyncOptions>(BigCommerceReconciliationJob.Key, o => o.ReconcileCron);
            quartz.AddCronJob<ParkedBigCommerceRetryJob, BigCommerceSyncOptions>(ParkedBigCommerceRetryJob.Key, o => o.ParkedRetryCron);
            quartz.AddCronJob<BigCommerceHooksJob, BigCommerceSyncOptions>(BigCommerceHooksJob.Key, o => o.HooksCheckCron);
            quartz.AddTrigger<BigCommerceHooksJob>((services, trigger) => trigger
                .ForJob(BigCommerceHooksJob.Key)
                .WithIdentity(BigCommerceHooksJob.AtStart)
                .StartNow()
                .WithSimpleSchedule(schedule => schedule
                    .WithInterval(services.GetRequiredService<IOptions<BigCommerceSyncOptions>>().Value.HooksCheckRetryAtStart)
                    .RepeatForever()));
        });
        return builder;
    }

    /// <summary>The BigCommerce consumers, unless the worker waits for a store: their messages then wait in their queues.</summary>
    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus, IConfiguration configuration)
    {
        if (BigCommerceOptions.WaitsForStoreIn(configuration))
        {
            return;
        }
        bus.AddConsumer<BigCommerceOrderChangedConsumer, BigCommerceOrderChangedDefinition>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
        bus.AddConsumer<BigCommerceHookDeliveryFailedConsumer, SyncConsumerDefinition<BigCommerceHookDeliveryFailedConsumer>>();
    }
}

/// <summary>The order callbacks' endpoint: many at once (<see cref="BigCommerceSyncOptions.OrderConcurrency"/>), for the rounds of fetches to fill.</summary>
public sealed class BigCommerceOrderChangedDefinition(IOptions<BigCommerceSyncOptions> options)
    : SyncConsumerDefinition<BigCommerceOrderChangedConsumer>(options.Value.OrderConcurrency);
