using System.Collections.Concurrent;
using MassTransit;
using MassTransit.RabbitMqTransport;
using MassTransit.Transports;
using RabbitMQ.Client;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// Cancels every delivery still under way on a RabbitMQ channel when that channel shuts down, so
/// that a lost broker connection cannot leave a queue without its consumer (docs/failures.md).
/// </summary>
/// <remarks>
/// RabbitMQ.Client 7.2 queues outgoing frames in a buffer of 128 and leaves it open when the
/// socket under it fails (rabbitmq-dotnet-client#1930, fixed after 7.2.2, the version used
/// here). An acknowledgement written after that waits for room that never comes. MassTransit
/// acknowledges inside the client's delivery handler, and the client's channel shutdown waits
/// for those handlers, so the connection's shutdown never finishes and the endpoint never
/// reconnects: its queue keeps its messages with no consumer. MassTransit cancels the deliveries
/// it still holds when the channel shuts down, but not one whose acknowledgement is being
/// written. Cancelling its receive context ends that wait; a delivery on a closed channel cannot
/// be acknowledged anyway, and the broker delivers it again.
/// </remarks>
public sealed partial class ClosedChannelDeliveries(ILogger<ClosedChannelDeliveries> logger) : IReceiveObserver
{
    readonly ConcurrentDictionary<IChannel, ConcurrentDictionary<BaseReceiveContext, byte>> _underWay =
        new(ReferenceEqualityComparer.Instance);

    public Task PreReceive(ReceiveContext context)
    {
        if (context is BaseReceiveContext delivery && ChannelOf(context) is { } channel)
        {
            var deliveries = _underWay.GetOrAdd(channel, Watch);
            deliveries.TryAdd(delivery, 0);
            if (channel.IsClosed)
            {
                // Shut down while this delivery was being counted: the shutdown may have cancelled
                // the others without it.
                delivery.Cancel();
                CancelAll(channel);
            }
        }
        return Task.CompletedTask;
    }

    public Task PostReceive(ReceiveContext context) => Ended(context);

    public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
        where T : class => Task.CompletedTask;

    public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
        where T : class => Task.CompletedTask;

    /// <remarks>
    /// MassTransit calls this before it writes the delivery's nack, which is then no longer
    /// counted; nacks are rare, acknowledgements come by the hundred after a group's commit.
    /// </remarks>
    public Task ReceiveFault(ReceiveContext context, Exception exception) => Ended(context);

    Task Ended(ReceiveContext context)
    {
        if (context is BaseReceiveContext delivery && ChannelOf(context) is { } channel
            && _underWay.TryGetValue(channel, out var deliveries))
        {
            deliveries.TryRemove(delivery, out _);
        }
        return Task.CompletedTask;
    }

    ConcurrentDictionary<BaseReceiveContext, byte> Watch(IChannel channel)
    {
        // Once per channel in practice; the handler of a call that lost a race to add the channel
        // finds nothing left to cancel.
        channel.ChannelShutdownAsync += (_, reason) =>
        {
            if (CancelAll(channel) is > 0 and var cancelled)
            {
                Cancelled(logger, reason.ReplyText, cancelled);
            }
            return Task.CompletedTask;
        };
        return new ConcurrentDictionary<BaseReceiveContext, byte>(ReferenceEqualityComparer.Instance);
    }

    int CancelAll(IChannel channel)
    {
        if (!_underWay.TryRemove(channel, out var deliveries))
        {
            return 0;
        }
        var cancelled = 0;
        foreach (var delivery in deliveries.Keys)
        {
            try
            {
                delivery.Cancel();
                cancelled++;
            }
            catch (ObjectDisposedException)
            {
                // Ended between the count and now.
            }
        }
        return cancelled;
    }

    [LoggerMessage(LogLevel.Information,
        "RabbitMQ channel closed ({Reason}) with {Deliveries} deliveries under way: cancelled, the broker delivers them again")]
    static partial void Cancelled(ILogger logger, string reason, int deliveries);

    static IChannel? ChannelOf(ReceiveContext context) =>
        context.TryGetPayload<ChannelContext>(out var channel) ? channel.Channel : null;
}
