using MassTransit;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// Every sync consumer's endpoint: up to 16 messages at once per worker, and the transient-fault
/// retry of <see cref="RetryConfiguration.UseTransientRetry"/>.
/// </summary>
public sealed class SyncConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    public SyncConsumerDefinition() => ConcurrentMessageLimit = 16;

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context) =>
        endpointConfigurator.UseTransientRetry();
}
