using System.CommandLine;
using PerazziSync.Cli.DeadLetters;
using PerazziSync.Contracts;
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
    /// selects, once, for <paramref name="action"/>; a queue named there that is not the product's
    /// is refused before connecting, one that does not exist is an error.
    /// </summary>
    static async Task<int> WithBrokerAsync(
        ParseResult parseResult, Option<string?> queueOption,
        Func<DeadLetterQueues, IReadOnlyList<(string Queue, uint Messages)>, IAnsiConsole, Task<int>> action,
        CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var named = parseResult.GetValue(queueOption);
        if (DeadLetterQueues.Named(named) is not { } names)
        {
            error.WriteLine(NotTheProducts(named));
            return 2;
        }
        var (connection, exitCode) = await CliBroker.ConnectAsync(CliConfiguration.Load(), "perazzisync dlq", error, cancellationToken);
        if (connection is null)
        {
            return exitCode;
        }
        await using (connection)
        {
            var queues = new DeadLetterQueues(connection);
            var counts = await queues.CountAsync(names, cancellationToken);
            if (!string.IsNullOrEmpty(named) && counts.Count == 0)
            {
                error.WriteLine($"No dead-letter queue {named} on this broker (the product's: {string.Join(", ", DeadLetterQueues.All)}).");
                return 1;
            }
            return await action(queues, counts, CliConsole.Create(parseResult.InvocationConfiguration.Output));
        }
    }

    static string NotTheProducts(string? queue) =>
        $"--queue {queue} is not one of the product's queues. It takes an input queue " +
        $"({string.Join(", ", Queues.Inputs)}) or one of their dead-letter queues ({string.Join(", ", DeadLetterQueues.All)}).";
}
