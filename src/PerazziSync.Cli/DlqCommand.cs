using System.CommandLine;
using System.Globalization;
using Npgsql;
using PerazziSync.Cli.DeadLetters;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Spectre.Console;

namespace PerazziSync.Cli;

/// <summary><c>dlq list | show | replay | purge</c> over the product's <c>_error</c> and <c>_skipped</c> queues.</summary>
static class DlqCommand
{
    sealed class Selection
    {
        public Option<string?> Queue { get; } = new("--queue")
        {
            Description = "An input queue (both its _error and _skipped) or one dead-letter queue by its full name; default: all of the product's",
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
        return dlq;
    }

    static Command List()
    {
        var selection = new Selection();
        var limit = new Option<int>("--limit") { Description = "Messages to print at most", DefaultValueFactory = _ => 100 };
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
            console.Write(MessageTable(matching.Take(parseResult.GetValue(limit))));
            console.WriteLine(matching.Count > parseResult.GetValue(limit)
                ? $"{matching.Count} matching message(s); the first {parseResult.GetValue(limit)} shown (--limit)."
                : $"{matching.Count} matching message(s).");
            return 0;
        }, cancellationToken));
        return command;
    }

    static Command Show()
    {
        var id = new Argument<string>("ID") { Description = "The message id, as dlq list prints it" };
        var queue = new Option<string?>("--queue") { Description = "Where to look; default: all of the product's dead-letter queues" };
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
                console.WriteLine(letter.PrettyBody());
            }
            return 0;
        }, cancellationToken));
        return command;
    }

    static Command Replay()
    {
        var selection = new Selection();
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be replayed; move nothing" };
        var operatorName = OperatorAudit.Option();
        var command = new Command("replay",
            "Send the selected dead letters back to their input queue with their message id and headers (minus the fault headers). " +
            "Each leaves the dead-letter queue only after the broker confirmed it and its audit row (dlq.replay) is written.");
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
                foreach (var group in selected.GroupBy(l => l.Queue))
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

    static Command Purge()
    {
        var selection = new Selection();
        var yes = new Option<bool>("--yes") { Description = "Do not ask for confirmation (required when not at a terminal)" };
        var operatorName = OperatorAudit.Option();
        var command = new Command("purge",
            "Delete the selected dead letters for good, after confirmation. Each gets an audit row (dlq.purge) that keeps its body.");
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

    static async Task<int> MoveAsync(
        ParseResult parseResult, Option<string?> operatorName, DeadLetterQueues queues, IAnsiConsole console,
        IReadOnlyList<string> sources, Func<DeadLetterMoves, string, IProgress<ScanProgress>, Task<MoveOutcome>> move,
        string verb, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var connectionString = CliConfiguration.Load().Require("ConnectionStrings:Postgres", error);
        if (connectionString is null)
        {
            return 2;
        }
        await using var database = NpgsqlDataSource.Create(connectionString);
        // The audit log must be writable before anything moves.
        await (await database.OpenConnectionAsync(cancellationToken)).DisposeAsync();
        var who = OperatorAudit.From(parseResult, operatorName);
        var moves = new DeadLetterMoves(queues, new DeadLetterAudit(database, who));
        var outcomes = new List<MoveOutcome>();
        try
        {
            foreach (var queue in sources)
            {
                outcomes.Add(console.Profile.Capabilities.Interactive
                    ? await WithProgressBarAsync(console, queue, moves, progress => move(moves, queue, progress))
                    : await move(moves, queue, new LineProgress(parseResult.InvocationConfiguration.Output, moves, verb)));
            }
        }
        catch (DeadLetterMoveException e)
        {
            error.WriteLine(e.Message);
            return 1;
        }
        var table = new Table().AddColumn("queue").AddColumn("to")
            .AddColumn(new TableColumn("scanned").RightAligned())
            .AddColumn(new TableColumn("selected").RightAligned())
            .AddColumn(new TableColumn(verb).RightAligned());
        foreach (var outcome in outcomes)
        {
            table.AddRow(Markup.Escape(outcome.Queue),
                verb == "replayed" ? Markup.Escape(DeadLetterQueues.InputOf(outcome.Queue)) : "-",
                Number(outcome.Scanned), Number(outcome.Selected), Number(outcome.Moved));
        }
        console.Write(table);
        console.WriteLine($"{outcomes.Sum(o => o.Moved)} message(s) {verb} by {who.Claimed}; each has an audit_log row.");
        return 0;
    }

    static async Task<MoveOutcome> WithProgressBarAsync(
        IAnsiConsole console, string queue, DeadLetterMoves moves, Func<IProgress<ScanProgress>, Task<MoveOutcome>> move)
    {
        MoveOutcome? outcome = null;
        await console.Progress().StartAsync(async context =>
        {
            var task = context.AddTask(Markup.Escape(queue));
            outcome = await move(new Progress<ScanProgress>(p =>
            {
                task.MaxValue = Math.Max(p.Total, 1);
                task.Value = p.Scanned;
                task.Description = Markup.Escape($"{queue}: {moves.Moved:N0} done");
            }));
        });
        return outcome!;
    }

    /// <summary>Progress as plain lines when the output is not a terminal (logs, CI).</summary>
    sealed class LineProgress(TextWriter output, DeadLetterMoves moves, string verb) : IProgress<ScanProgress>
    {
        public void Report(ScanProgress value) =>
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{value.Queue}: {value.Scanned:N0} of {value.Total:N0} scanned, {moves.Moved:N0} {verb}"));
    }

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

    static Table MessageTable(IEnumerable<DeadLetter> letters)
    {
        var table = new Table().AddColumns("queue", "message id", "type", "faulted (UTC)", "exception", "source key");
        foreach (var letter in letters)
        {
            var exception = letter.ExceptionType is null ? letter.ExceptionMessage ?? "-" : $"{letter.ExceptionType}: {letter.ExceptionMessage}";
            table.AddRow(
                Markup.Escape(letter.Queue), Markup.Escape(letter.MessageId ?? "-"), Markup.Escape(letter.MessageType ?? "-"),
                letter.FaultedAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                Markup.Escape(exception.Length > 160 ? exception[..160] + "…" : exception),
                Markup.Escape(letter.SourceKey ?? "-"));
        }
        return table;
    }

    static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

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
