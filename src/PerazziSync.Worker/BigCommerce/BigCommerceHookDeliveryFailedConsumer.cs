using MassTransit;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.Contracts;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// BigCommerce could not deliver to one of the store's hooks: check the subscriptions now rather
/// than at the next scheduled check (re-activating a disabled hook, reporting a blocked domain),
/// and have the reconciliation cover the failed hook's scope from the failure on.
/// </summary>
public sealed class BigCommerceHookDeliveryFailedConsumer(HookWatch watch, ILogger<BigCommerceHookDeliveryFailedConsumer> logger)
    : IConsumer<BigCommerceHookDeliveryFailed>
{
    public async Task Consume(ConsumeContext<BigCommerceHookDeliveryFailed> context)
    {
        var message = context.Message;
        var code = message.ErrorCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";
        WorkerLog.DeliveryFailed(logger, message.HookId, code, message.Description ?? "");
        await watch.CheckAsync(
            new HookCheckTrigger("delivery_exception", message.ReceivedAt, message.HookId, message.OccurredAt ?? message.ReceivedAt, context.MessageId),
            context.CancellationToken);
        // Counted when handled: a message retried after a failed check counts once.
        Telemetry.BigCommerceDeliveryExceptions.Add(1, new KeyValuePair<string, object?>("error_code", code));
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceHookDeliveryFailed)), new("outcome", "applied"));
    }
}
