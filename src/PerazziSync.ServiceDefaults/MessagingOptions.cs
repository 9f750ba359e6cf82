namespace PerazziSync.ServiceDefaults;

/// <summary>The <c>Messaging</c> section (environment: <c>Messaging__QueueType</c>).</summary>
public sealed class MessagingOptions
{
    public const string Section = "Messaging";
    public const string Classic = "classic";
    public const string Quorum = "quorum";

    /// <summary>
    /// <c>classic</c> (default; a single local broker) or <c>quorum</c> (replicated, for a
    /// production cluster). RabbitMQ cannot change the type of an existing queue: switching
    /// means draining and deleting the queues first.
    /// </summary>
    public string QueueType { get; set; } = Classic;
}
