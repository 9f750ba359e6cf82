using Microsoft.Extensions.Configuration;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PerazziSync.Cli;

/// <summary>The broker as a verb reaches it: <c>ConnectionStrings:RabbitMq</c> checked, then a connection opened.</summary>
static class CliBroker
{
    /// <summary>
    /// A connection to the broker named <paramref name="clientName"/>, or null and the exit code
    /// after telling the operator what is wrong: 2 for a setting missing or not an amqp:// URI,
    /// 1 for a broker that cannot be reached.
    /// </summary>
    public static async Task<(IConnection? Connection, int ExitCode)> ConnectAsync(
        IConfiguration configuration, string clientName, TextWriter error, CancellationToken cancellationToken)
    {
        var uri = configuration.Require("ConnectionStrings:RabbitMq", error);
        if (uri is null)
        {
            return (null, 2);
        }
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var amqp) || amqp.Scheme is not ("amqp" or "amqps"))
        {
            error.WriteLine("ConnectionStrings:RabbitMq is not an amqp:// URI.");
            return (null, 2);
        }
        try
        {
            return (await new ConnectionFactory { Uri = amqp, ClientProvidedName = clientName }.CreateConnectionAsync(cancellationToken), 0);
        }
        catch (BrokerUnreachableException e)
        {
            // The host and port only: the URI carries the password.
            error.WriteLine($"RabbitMQ at {amqp.Host}:{amqp.Port}{amqp.AbsolutePath} cannot be reached: {e.InnerException?.Message ?? e.Message}");
            return (null, 1);
        }
    }
}
