using MassTransit;
using PerazziSync.Contracts;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>The last step of every route: publish, and answer 200 only once the broker confirmed.</summary>
static class ConfirmedPublish
{
    /// <summary>
    /// Publishes <paramref name="message"/> and answers 200 once the broker confirmed it. With
    /// <paramref name="signedAt"/>, the delivery is remembered as confirmed, so its replays are
    /// answered as duplicates; a delivery answered 503 is never remembered: its retry must publish.
    /// <paramref name="delivery"/> is its <c>webhook-id</c>, with a digest of the body under a
    /// shared header (docs/failures.md). A sender that hangs up does not cancel the publish: once
    /// begun it is confirmed and remembered, or fails, never left published but forgotten.
    /// </summary>
    public static async Task<IResult> AnswerAsync(
        IPublishEndpoint publisher, object message, string route, string delivery, DateTimeOffset? signedAt,
        ConfirmedDeliveries confirmed, TimeSpan timeout, ILogger logger)
    {
        var messageId = DeliveryIds.MessageId(route, delivery);
        using var confirm = new CancellationTokenSource(timeout);
        try
        {
            // Publish returns once RabbitMQ confirmed the message into a queue: only then may we answer 200.
            await publisher.Publish(message, message.GetType(), context =>
            {
                context.MessageId = messageId;
                context.MustReachAQueue();
            }, confirm.Token);
        }
        catch (Exception e)
        {
            ReceiverLog.NotConfirmed(logger, e, route, delivery);
            Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "unavailable"));
            return TypedResults.Problem(
                detail: "The callback could not be stored; retry later.",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "unavailable");
        }
        if (signedAt is { } at)
        {
            confirmed.Remember(route, delivery, at);
        }
        ReceiverLog.Accepted(logger, route, delivery, messageId);
        Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "accepted"));
        return TypedResults.Ok(new Acknowledgement("accepted", null, messageId));
    }

    /// <summary>
    /// The 200 for a delivery already confirmed: nothing is published again. Its message id is
    /// the one the first delivery was published with.
    /// </summary>
    public static IResult Duplicate(string route, string delivery, ILogger logger)
    {
        var messageId = DeliveryIds.MessageId(route, delivery);
        ReceiverLog.Duplicate(logger, route, delivery, messageId);
        Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "duplicate"));
        return TypedResults.Ok(new Acknowledgement("duplicate", null, messageId));
    }

    public static IResult Rejected(string route, Rejection rejection)
    {
        Telemetry.WebhooksReceived.Add(1, new("route", route), new("outcome", "rejected"), new("reason", rejection.Reason));
        return rejection.ToResult();
    }
}
