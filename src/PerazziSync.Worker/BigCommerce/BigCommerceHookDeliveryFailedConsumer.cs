using MassTransit;
using PerazziSync.BigCommerce.Hooks;
using PerazziSync.Contracts;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// BigCommerce could not deliver to one of the store's hooks: check the subscriptions now rather
/// than at the next scheduled check (re-activating a disabled hook, reporting a blocked domain),
/// and have the reconciliation cover the failed hook's scope from the failure on, or from as long
/// before the callback as BigCommerce retries when it dates the failure earlier.
/// </summary>
public sealed class BigCommerceHookDeliveryFailedConsumer(HookWatch watch, ILogger<BigCommerceHookDeliveryFailedConsumer> logger)
    : IConsumer<BigCommerceHookDeliveryFailed>
{
    public async Task Consume(ConsumeContext<BigCommerceHookDeliveryFailed> context)
    {
        var message = context.Message;
        var code = message.ErrorCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";
        // The description is the callback's text: a line break in it would start a forged log line.
        WorkerLog.DeliveryFailed(logger, message.HookId, code, PrintableText.Of(message.Description ?? ""));
        var trigger = HookCheckTrigger.DeliveryException(message.HookId, message.ErrorCode, message.OccurredAt, message.ReceivedAt, context.MessageId, out var bounded);
        if (bounded)
        {
            WorkerLog.DeliveryFailureBounded(logger, message.HookId, message.OccurredAt!.Value, trigger.FailedAt!.Value);
        }
        await watch.CheckAsync(trigger, context.CancellationToken);
        // Counted when handled: a message retried after a failed check counts once. BigCommerce's
        // three codes are tagged as they are, any other as "other": the code is the sender's to
        // choose, and each new one would make a time series of its own for as long as the worker runs.
        var tag = message.ErrorCode is null or 90001 or 90002 or 90003 ? code : "other";
        Telemetry.BigCommerceDeliveryExceptions.Add(1, new KeyValuePair<string, object?>("error_code", tag));
        if (bounded)
        {
            Telemetry.BigCommerceDeliveryExceptionsBounded.Add(1);
        }
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceHookDeliveryFailed)), new("outcome", "applied"));
    }
}
