using System.CommandLine;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary><c>dlq show</c>.</summary>
static partial class DlqCommand
{
    static Command Show()
    {
        var id = new Argument<string>("ID") { Description = "The message id, as dlq list prints it" };
        var queue = new Option<string?>("--queue") { Description = "Where to look: one of the product's input queues or dead-letter queues; default: all of its dead-letter queues" };
        var command = new Command("show", "One dead letter: its headers (MassTransit's fault headers among them) and its body.") { id, queue };
        command.SetAction((parseResult, cancellationToken) => WithBrokerAsync(parseResult, queue, async (queues, counts, console) =>
        {
            var filter = new DeadLetterFilter(MessageIds: new HashSet<string>([parseResult.GetValue(id)!], StringComparer.OrdinalIgnoreCase));
            var found = await BrowseAsync(queues, counts.Where(c => c.Messages > 0).Select(c => c.Queue), filter, cancellationToken);
            if (found.Count == 0)
            {
                parseResult.InvocationConfiguration.Error.WriteLine($"No dead letter with message id {parseResult.GetValue(id)}.");
                return 1;
            }
            foreach (var letter in found)
            {
                console.MarkupLineInterpolated($"[bold]{letter.MessageId}[/] in {letter.Queue}");
                var headers = new Table().AddColumns("header", "value");
                headers.AddRow("content-type", Markup.Escape(letter.Properties.ContentType ?? "-"));
                foreach (var (name, value) in letter.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))
                {
                    headers.AddRow(Markup.Escape(name), Markup.Escape(value ?? ""));
                }
                console.Write(headers);
                WriteUnreadable(console, [letter]);
                console.WriteLine(letter.PrettyBody());
            }
            return 0;
        }, cancellationToken));
        return command;
    }
}
