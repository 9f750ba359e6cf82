using MassTransit;

namespace PerazziSync.ServiceDefaults;

/// <summary>Publishes that must reach a queue to count.</summary>
public static class MandatoryPublish
{
    /// <summary>
    /// RabbitMQ confirms a message that no queue takes (no worker has declared its queue yet, or an
    /// operator deleted it) and drops it. Marked mandatory, such a message is returned instead, and
    /// its publish fails rather than completing as if it were stored.
    /// </summary>
    public static void MustReachAQueue(this SendContext context) => context.GetPayload<RabbitMqSendContext>().Mandatory = true;
}
