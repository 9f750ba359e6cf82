namespace PerazziSync.ServiceDefaults;

/// <summary>The <c>ConnectionStrings</c> section (environment: <c>ConnectionStrings__Postgres</c>, <c>ConnectionStrings__RabbitMq</c>).</summary>
public sealed class ConnectionStringsOptions
{
    public const string Section = "ConnectionStrings";

    /// <summary>Npgsql connection string of the portal database.</summary>
    public string? Postgres { get; set; }

    /// <summary>AMQP URI of the broker, e.g. <c>amqp://user:password@127.0.0.1:5672/</c>.</summary>
    public string? RabbitMq { get; set; }
}
