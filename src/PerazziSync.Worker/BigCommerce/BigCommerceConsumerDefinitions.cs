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
