using System.CommandLine;
using PerazziSync.Cli.DeadLetters;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary>The broker: connecting, counting the dead-letter queues, browsing them.</summary>
static partial class DlqCommand
{
    /// <summary>Reads the matching messages of <paramref name="queues"/>; every message stays where it was.</summary>
    static async Task<List<DeadLetter>> BrowseAsync(
        DeadLetterQueues queues, IEnumerable<string> names, DeadLetterFilter filter, CancellationToken cancellationToken)
    {
        var found = new List<DeadLetter>();
        foreach (var name in names)
        {
            await queues.WalkAsync(name,
                (_, letter, _) =>
                {
                    if (filter.Matches(letter))
                    {
                        found.Add(letter);
                    }
                    return ValueTask.CompletedTask;
                },
                (_, _) => ValueTask.CompletedTask, null, cancellationToken);
        }
        return found;
    }

    /// <summary>
    /// Connects to the broker and counts the dead-letter queues <paramref name="queueOption"/>
    /// selects, once, for <paramref name="action"/>; a queue named there that does not exist is an error.
    /// </summary>
    static async Task<int> WithBrokerAsync(
        ParseResult parseResult, Option<string?> queueOption,
        Func<DeadLetterQueues, IReadOnlyList<(string Queue, uint Messages)>, IAnsiConsole, Task<int>> action,
        CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var uri = CliConfiguration.Load().Require("ConnectionStrings:RabbitMq", error);
        if (uri is null)
        {
            return 2;
        }
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var amqp) || amqp.Scheme is not ("amqp" or "amqps"))
        {
            error.WriteLine("ConnectionStrings:RabbitMq is not an amqp:// URI.");
            return 2;
        }
        var factory = new ConnectionFactory { Uri = amqp, ClientProvidedName = "perazzisync dlq" };
        IConnection connection;
        try
        {
            connection = await factory.CreateConnectionAsync(cancellationToken);
        }
        catch (BrokerUnreachableException e)
        {
            // The host and port only: the URI carries the password.
            error.WriteLine($"RabbitMQ at {amqp.Host}:{amqp.Port}{amqp.AbsolutePath} cannot be reached: {e.InnerException?.Message ?? e.Message}");
            return 1;
        }
        await using (connection)
        {
            var queues = new DeadLetterQueues(connection);
            var named = parseResult.GetValue(queueOption);
            var counts = await queues.CountAsync(DeadLetterQueues.Named(named), cancellationToken);
            if (!string.IsNullOrEmpty(named) && counts.Count == 0)
            {
                error.WriteLine($"No dead-letter queue {named} on this broker (the product's: {string.Join(", ", DeadLetterQueues.All)}).");
                return 1;
            }
            return await action(queues, counts, CliConsole.Create(parseResult.InvocationConfiguration.Output));
        }
    }
}
