using System.CommandLine;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary><c>dlq replay</c>.</summary>
static partial class DlqCommand
{
    static Command Replay()
    {
        var selection = new Selection();
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be replayed; move nothing" };
        var operatorName = OperatorAudit.Option();
        var command = new Command("replay",
            "Send the selected dead letters back to their input queue with their message id and headers (minus the fault headers). " +
            "Each leaves the dead-letter queue only after the broker confirmed it and its audit row (dlq.replay) is written; " +
            "should the database refuse the row, it leaves all the same and its message id is printed.");
        selection.AddTo(command);
        command.Options.Add(dryRun);
        command.Options.Add(operatorName);
        command.SetAction((parseResult, cancellationToken) => WithBrokerAsync(parseResult, selection.Queue, async (queues, counts, console) =>
        {
            var filter = selection.Filter(parseResult);
            var sources = counts.Where(c => c.Messages > 0).Select(c => c.Queue).ToList();
            if (parseResult.GetValue(dryRun))
            {
                var selected = await BrowseAsync(queues, sources, filter, cancellationToken);
                console.Write(MessageTable(selected));
                WriteUnreadable(console, selected);
                foreach (var group in selected.Where(l => l.Unreadable is null).GroupBy(l => l.Queue))
                {
                    console.WriteLine($"{group.Count()} message(s) would be replayed from {group.Key} to {DeadLetterQueues.InputOf(group.Key)}.");
                }
                console.WriteLine($"Dry run: {selected.Count} message(s) selected, nothing moved.");
                return 0;
            }
            return await MoveAsync(parseResult, operatorName, queues, console, sources,
                (moves, queue, progress) => moves.ReplayAsync(queue, filter, progress, cancellationToken), "replayed", cancellationToken);
        }, cancellationToken));
        return command;
    }
}
