namespace PerazziSync.ServiceDefaults;

/// <summary>The broker's part of the <c>ConnectionStrings</c> section (environment: <c>ConnectionStrings__RabbitMq</c>).</summary>
public sealed class ConnectionStringsOptions
{
    public const string Section = "ConnectionStrings";

    /// <summary>AMQP URI of the broker, e.g. <c>amqp://user:password@127.0.0.1:5672/</c>.</summary>
    public string? RabbitMq { get; set; }
}
