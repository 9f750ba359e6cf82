using MassTransit;
using Microsoft.Extensions.Options;
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

        builder.Services.AddSingleton<OrderFetches>();
        builder.Services.AddSingleton<OrderApplication>();
        builder.Services.AddQuartz(quartz =>
        {
            quartz.AddCronJob<BigCommerceReconciliationJob, BigCommerceSyncOptions>(BigCommerceReconciliationJob.Key, o => o.ReconcileCron);
            quartz.AddCronJob<ParkedBigCommerceRetryJob, BigCommerceSyncOptions>(ParkedBigCommerceRetryJob.Key, o => o.ParkedRetryCron);
        });
        return builder;
    }

    public static void AddBigCommerceConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<BigCommerceOrderChangedConsumer, BigCommerceOrderChangedDefinition>();
        bus.AddConsumer<BigCommerceCustomerChangedConsumer, SyncConsumerDefinition<BigCommerceCustomerChangedConsumer>>();
    }
}

/// <summary>The order callbacks' endpoint: many at once (<see cref="BigCommerceSyncOptions.OrderConcurrency"/>), for the rounds of fetches to fill.</summary>
public sealed class BigCommerceOrderChangedDefinition(IOptions<BigCommerceSyncOptions> options)
    : SyncConsumerDefinition<BigCommerceOrderChangedConsumer>(options.Value.OrderConcurrency);
