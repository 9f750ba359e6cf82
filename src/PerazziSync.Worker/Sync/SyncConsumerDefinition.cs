using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Worker.Sync;

public static class SyncEndpointExtensions
{
    /// <summary>
    /// What every sync consumer's endpoint (<see cref="SyncConsumerDefinition{TConsumer}"/>) takes
    /// from the container: the <see cref="DatabaseCircuit"/> and the <see cref="ConsumeProgress"/>
    /// of its attempts, with its check in <c>/health/ready</c>, and the
    /// <see cref="ClosedChannelDeliveries"/> that keep a lost broker connection from leaving a
    /// queue without its consumer.
    /// </summary>
    public static IHostApplicationBuilder AddSyncEndpoints(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DatabaseCircuit>();
        builder.Services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<ConsumeProgress>();
        builder.Services.AddHealthChecks().AddCheck<StalledConsumersCheck>("consumers", tags: [Telemetry.ReadyTag]);
        builder.Services.AddReceiveObserver<ClosedChannelDeliveries>();
        return builder;
    }
}

/// <summary>
/// Every sync consumer's endpoint: its queue from <see cref="Queues"/>, up to 16 messages at once
/// per worker unless its definition says otherwise (as many prefetched), a count of what it dead-letters, the transient-fault retry of <see cref="RetryConfiguration.UseTransientRetry"/>
/// and, inside it, the <see cref="DatabaseCircuit"/>, so each retry waits for the database, then
/// the <see cref="ConsumeProgress"/> of the attempts that got past it.
/// </summary>
public class SyncConsumerDefinition<TConsumer> : ConsumerDefinition<TConsumer>
    where TConsumer : class, IConsumer
{
    readonly Type _messageType;

    public SyncConsumerDefinition() : this(16)
    {
    }

    protected SyncConsumerDefinition(int concurrentMessages)
    {
        _messageType = typeof(TConsumer).GetInterfaces()
            .Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IConsumer<>))
            .GetGenericArguments()[0];
        EndpointName = Queues.For(_messageType);
        ConcurrentMessageLimit = concurrentMessages;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<TConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        if (endpointConfigurator is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.PrefetchCount = ConcurrentMessageLimit ?? rabbit.PrefetchCount;
        }
        endpointConfigurator.UseFilter(new DeadLetterCountFilter(_messageType.Name));
        endpointConfigurator.UseTransientRetry();
        endpointConfigurator.UseFilter(new DatabaseCircuitFilter(context.GetRequiredService<DatabaseCircuit>(), _messageType.Name));
        endpointConfigurator.UseFilter(new ConsumeProgressFilter(context.GetRequiredService<ConsumeProgress>(), Queues.For(_messageType)));
    }
}

/// <summary>
/// Outside the retries: a fault that gets here sends the message to <c>_error</c>, so it is
/// counted as dead-lettered. A message handed back because the worker is stopping is not.
/// </summary>
sealed class DeadLetterCountFilter(string messageType) : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        try
        {
            await next.Send(context);
        }
        catch (Exception e) when (!(e is OperationCanceledException && context.CancellationToken.IsCancellationRequested))
        {
            Telemetry.MessagesConsumed.Add(1, new("type", messageType), new("outcome", "dead_lettered"), new("exception", e.GetType().Name));
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("deadLetterCount");
}
