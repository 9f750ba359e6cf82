using System.Globalization;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary>How dead letters are shown.</summary>
static partial class DlqCommand
{
    static Table MessageTable(IEnumerable<DeadLetter> letters)
    {
        var table = new Table().AddColumns("queue", "message id", "type", "faulted (UTC)", "exception", "source key");
        foreach (var letter in letters)
        {
            var exception = letter.ExceptionType is null ? letter.ExceptionMessage ?? "-" : $"{letter.ExceptionType}: {letter.ExceptionMessage}";
            table.AddRow(
                Markup.Escape(letter.Queue), Markup.Escape(letter.MessageId ?? "-"), Markup.Escape(letter.MessageType ?? "-"),
                letter.FaultedAt is { } faulted ? CliConsole.Time(faulted.UtcDateTime) : "-",
                Markup.Escape(exception.Length > 160 ? exception[..160] + "…" : exception),
                Markup.Escape(letter.SourceKey ?? "-"));
        }
        return table;
    }

    /// <summary>The messages among <paramref name="letters"/> whose body the Cli cannot read, one line each.</summary>
    static void WriteUnreadable(IAnsiConsole console, IEnumerable<DeadLetter> letters)
    {
        foreach (var letter in letters.Where(l => l.Unreadable is not null))
        {
            console.WriteLine(Unreadable(letter));
        }
    }

    /// <summary>A message whose body the Cli cannot read: which one, why, and what the verbs do with it.</summary>
    static string Unreadable(DeadLetter letter) =>
        $"{letter.MessageId ?? "(no message id)"} in {letter.Queue}: {letter.Unreadable}. " +
        "Replay refuses it; dlq show prints its body; dlq purge removes it.";

    static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
