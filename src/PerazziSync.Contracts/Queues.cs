namespace PerazziSync.Contracts;

/// <summary>
/// The worker's input queues, one per message type. MassTransit moves a message that failed for
/// good to <c>&lt;queue&gt;_error</c> and one no consumer took to <c>&lt;queue&gt;_skipped</c>;
/// the Cli's <c>dlq</c> commands work on those.
/// </summary>
public static class Queues
{
    public const string BigCommerceOrderChanged = "big-commerce-order-changed";
    public const string BigCommerceCustomerChanged = "big-commerce-customer-changed";
    public const string PosServiceRecordReceived = "pos-service-record-received";
    public const string BigCommerceHookDeliveryFailed = "big-commerce-hook-delivery-failed";

    public const string ErrorSuffix = "_error";
    public const string SkippedSuffix = "_skipped";

    public static IReadOnlyList<string> Inputs { get; } =
        [BigCommerceOrderChanged, BigCommerceCustomerChanged, PosServiceRecordReceived, BigCommerceHookDeliveryFailed];

    /// <summary>The input queue a message of <paramref name="messageType"/> is consumed from.</summary>
    public static string For(Type messageType) => messageType.Name switch
    {
        nameof(Contracts.BigCommerceOrderChanged) => BigCommerceOrderChanged,
        nameof(Contracts.BigCommerceCustomerChanged) => BigCommerceCustomerChanged,
        nameof(Contracts.PosServiceRecordReceived) => PosServiceRecordReceived,
        nameof(Contracts.BigCommerceHookDeliveryFailed) => BigCommerceHookDeliveryFailed,
        _ => throw new ArgumentOutOfRangeException(nameof(messageType), messageType, "no input queue for this message type"),
    };
}
