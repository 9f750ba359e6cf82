using System.CommandLine;
using PerazziSync.Cli.DeadLetters;

namespace PerazziSync.Cli.Dlq;

/// <summary>
/// <c>dlq list | show | replay | purge</c> over the product's <c>_error</c> and <c>_skipped</c> queues,
/// and <c>dlq purged</c> over the messages purged from them: the verbs, one file each, and what they share.
/// </summary>
static partial class DlqCommand
{
    sealed class Selection
    {
        public Option<string?> Queue { get; } = new("--queue")
        {
            Description = "One of the product's input queues (both its _error and _skipped) or one of their dead-letter queues by its full name; default: all of them",
        };

        public Option<string?> Type { get; } = new("--type") { Description = "Message type, e.g. BigCommerceOrderChanged" };

        public Option<string?> Exception { get; } = new("--exception") { Description = "Text in the exception type or message (case-insensitive)" };

        public Option<DateTimeOffset?> Since { get; } = new("--since") { Description = "Faulted at or after, e.g. 2026-11-25T08:00Z" };

        public Option<DateTimeOffset?> Until { get; } = new("--until") { Description = "Faulted before" };

        public Option<string[]> Ids { get; } = new("--id") { Description = "Message id (repeatable)", AllowMultipleArgumentsPerToken = true };

        public void AddTo(Command command)
        {
            command.Options.Add(Queue);
            command.Options.Add(Type);
            command.Options.Add(Exception);
            command.Options.Add(Since);
            command.Options.Add(Until);
            command.Options.Add(Ids);
        }

        public DeadLetterFilter Filter(ParseResult parseResult) => new(
            parseResult.GetValue(Type),
            parseResult.GetValue(Exception),
            parseResult.GetValue(Since),
            parseResult.GetValue(Until),
            parseResult.GetValue(Ids) is { Length: > 0 } ids ? new HashSet<string>(ids, StringComparer.OrdinalIgnoreCase) : null);
    }

    public static Command Create()
    {
        var dlq = new Command("dlq",
            "Dead letters: messages MassTransit moved to <queue>_error (failed for good) or <queue>_skipped (no consumer). " +
            "Reading them never loses or reorders a message.");
        dlq.Subcommands.Add(List());
        dlq.Subcommands.Add(Show());
        dlq.Subcommands.Add(Replay());
        dlq.Subcommands.Add(Purge());
        dlq.Subcommands.Add(Purged());
        return dlq;
    }
}
