using System.CommandLine;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary><c>dlq purge</c>.</summary>
static partial class DlqCommand
{
    static Command Purge()
    {
        var selection = new Selection();
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation (required when not at a terminal)" };
        var operatorName = OperatorAudit.Option();
        var command = new Command("purge",
            "Delete the selected dead letters for good, after confirmation. Each gets an audit row (dlq.purge); its body is kept beside the row in perazzi_sync.purged_messages.");
        selection.AddTo(command);
        command.Options.Add(yes);
        command.Options.Add(operatorName);
        command.SetAction((parseResult, cancellationToken) => WithBrokerAsync(parseResult, selection.Queue, async (queues, counts, console) =>
        {
            var filter = selection.Filter(parseResult);
            // The selected deliveries stay fetched and unacknowledged across the question, and
            // exactly those are deleted: a message dead-lettered meanwhile, even one with the
            // same message id, is not in them and stays.
            var held = new Dictionary<string, HeldDeadLetters>();
            try
            {
                foreach (var (queue, _) in counts.Where(c => c.Messages > 0))
                {
                    held[queue] = await queues.HoldAsync(queue, filter, cancellationToken);
                }
                var selected = held.Values.SelectMany(h => h.Letters).ToList();
                if (selected.Count == 0)
                {
                    console.WriteLine("No message matches: nothing to purge.");
                    return 0;
                }
                console.Write(MessageTable(selected.Take(20)));
                WriteUnreadable(console, selected.Take(20));
                var question = $"Delete these {selected.Count} message(s) for good?";
                if (!parseResult.GetValue(yes))
                {
                    if (!console.Profile.Capabilities.Interactive)
                    {
                        parseResult.InvocationConfiguration.Error.WriteLine($"{question} Not at a terminal: run again with --yes to confirm.");
                        return 2;
                    }
                    if (!await console.ConfirmAsync(question, defaultValue: false, cancellationToken))
                    {
                        console.WriteLine("Nothing purged.");
                        return 2;
                    }
                }
                return await MoveAsync(parseResult, operatorName, queues, console,
                    held.Values.Where(h => h.Letters.Count > 0).Select(h => h.Queue).ToList(),
                    (moves, queue, progress) => moves.PurgeAsync(held[queue], progress, cancellationToken), "purged", cancellationToken);
            }
            finally
            {
                foreach (var letters in held.Values)
                {
                    await letters.DisposeAsync();
                }
            }
        }, cancellationToken));
        return command;
    }
}
