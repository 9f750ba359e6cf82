using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary><c>dlq list</c>.</summary>
static partial class DlqCommand
{
    static Command List()
    {
        var selection = new Selection();
        var limit = Limit();
        var command = new Command("list", "Counts per dead-letter queue, then the messages that match the filters.");
        selection.AddTo(command);
        command.Options.Add(limit);
        command.SetAction((parseResult, cancellationToken) => WithBrokerAsync(parseResult, selection.Queue, async (queues, counts, console) =>
        {
            var countTable = new Table().AddColumn("queue").AddColumn(new TableColumn("messages").RightAligned());
            foreach (var (queue, messages) in counts)
            {
                countTable.AddRow(Markup.Escape(queue), messages.ToString(CultureInfo.InvariantCulture));
            }
            console.Write(countTable);

            var filter = selection.Filter(parseResult);
            var matching = await BrowseAsync(queues, counts.Where(c => c.Messages > 0).Select(c => c.Queue), filter, cancellationToken);
            var shown = matching.Take(parseResult.GetValue(limit)).ToList();
            console.Write(MessageTable(shown));
            WriteUnreadable(console, shown);
            console.WriteLine(matching.Count > parseResult.GetValue(limit)
                ? $"{matching.Count} matching message(s); the first {parseResult.GetValue(limit)} shown (--limit)."
                : $"{matching.Count} matching message(s).");
            return 0;
        }, cancellationToken));
        return command;
    }

    static Option<int> Limit()
    {
        var limit = new Option<int>("--limit") { Description = "Messages to print at most", DefaultValueFactory = _ => 100 };
        limit.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--limit must be at least 1.");
            }
        });
        return limit;
    }
}
