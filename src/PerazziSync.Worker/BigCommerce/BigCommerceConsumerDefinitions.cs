using MassTransit;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.BigCommerce;

public sealed class BigCommerceOrderChangedConsumerDefinition : ConsumerDefinition<BigCommerceOrderChangedConsumer>
{
    public BigCommerceOrderChangedConsumerDefinition() => ConcurrentMessageLimit = 16;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<BigCommerceOrderChangedConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseTransientRetry();
}

public sealed class BigCommerceCustomerChangedConsumerDefinition : ConsumerDefinition<BigCommerceCustomerChangedConsumer>
{
    public BigCommerceCustomerChangedConsumerDefinition() => ConcurrentMessageLimit = 16;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<BigCommerceCustomerChangedConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseTransientRetry();
}

static class RetryConfiguration
{
    /// <summary>
    /// Transient faults are retried with exponential backoff (jittered by MassTransit) for about
    /// half an hour while the message stays unacknowledged on the broker; permanent faults are
    /// not retried and go to _error at once.
    /// </summary>
    public static void UseTransientRetry(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(TransientFaults.Is);
            retry.Exponential(40, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));
        });
}
