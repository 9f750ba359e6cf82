namespace PerazziSync.Receiver.Webhooks;

static partial class ReceiverLog
{
    [LoggerMessage(LogLevel.Warning, "{Route} callback refused: {Reason}")]
    public static partial void Refused(ILogger logger, string route, string reason);

    [LoggerMessage(LogLevel.Warning, "BigCommerce callback for another store ({Producer}) acknowledged and dropped")]
    public static partial void OtherStore(ILogger logger, string producer);

    [LoggerMessage(LogLevel.Information, "BigCommerce scope {Scope} is not synced; acknowledged")]
    public static partial void UnhandledScope(ILogger logger, string scope);

    [LoggerMessage(LogLevel.Error, "{Route} callback {WebhookId} not confirmed by the broker; answered 503")]
    public static partial void NotConfirmed(ILogger logger, Exception exception, string route, string webhookId);

    [LoggerMessage(LogLevel.Debug, "{Route} callback {WebhookId} was confirmed as message {MessageId} before; answered as a duplicate, not published again")]
    public static partial void Duplicate(ILogger logger, string route, string webhookId, Guid messageId);

    [LoggerMessage(LogLevel.Debug, "{Route} callback {WebhookId} accepted as message {MessageId}")]
    public static partial void Accepted(ILogger logger, string route, string webhookId, Guid messageId);
}
