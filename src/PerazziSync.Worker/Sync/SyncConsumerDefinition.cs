using MassTransit;
using PerazziSync.Contracts;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// Every sync consumer's endpoint: its queue from <see cref="Queues"/>, up to 16 messages at once
/// per worker, the transient-fault retry of <see cref="RetryConfiguration.UseTransientRetry"/>
/// and, inside it, the <see cref="DatabaseCircuit"/>, so each retry waits for the database.
/// </summary>
public sealed class SyncConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    public SyncConsumerDefinition()
    {
        var messageType = typeof(TConsumer).GetInterfaces()
            .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .GetGenericArguments()[0];
        EndpointName = Queues.For(messageType);
        ConcurrentMessageLimit = 16;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        endpointConfigurator.UseTransientRetry();
        endpointConfigurator.UseFilter(new DatabaseCircuitFilter(context.GetRequiredService<DatabaseCircuit>()));
    }
}
