using MassTransit;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>The last step of every route: publish, and answer 200 only once the broker confirmed.</summary>
static class ConfirmedPublish
{
    public static async Task<IResult> AnswerAsync(
        IPublishEndpoint publisher, object message, string route, string webhookId, TimeSpan timeout, ILogger logger,
        CancellationToken cancellationToken)
    {
        var messageId = DeliveryIds.MessageId(route, webhookId);
        using var confirm = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        confirm.CancelAfter(timeout);
        try
        {
            // Publish returns once RabbitMQ confirmed the message: only then may we answer 200.
            await publisher.Publish(message, message.GetType(), context => context.MessageId = messageId, confirm.Token);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            ReceiverLog.NotConfirmed(logger, e, route, webhookId);
            Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "unavailable"));
            return TypedResults.Problem(
                detail: "The callback could not be stored; retry later.",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "unavailable");
        }
        ReceiverLog.Accepted(logger, route, webhookId, messageId);
        Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "accepted"));
        return TypedResults.Ok(new Acknowledgement("accepted", null, messageId));
    }

    public static IResult Rejected(string route, Rejection rejection)
    {
        Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "rejected"), new("reason", rejection.Reason));
        return rejection.ToResult();
    }
}
