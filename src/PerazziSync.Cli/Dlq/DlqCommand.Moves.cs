using System.CommandLine;
using System.Globalization;
using Npgsql;
using PerazziSync.Cli.DeadLetters;
using Spectre.Console;

namespace PerazziSync.Cli.Dlq;

/// <summary>What replay and purge share: moving the selected letters with their audit rows, and showing progress.</summary>
static partial class DlqCommand
{
    static async Task<int> MoveAsync(
        ParseResult parseResult, Option<string?> operatorName, DeadLetterQueues queues, IAnsiConsole console,
        IReadOnlyList<string> sources, Func<DeadLetterMoves, string, IProgress<ScanProgress>, Task<MoveOutcome>> move,
        string verb, CancellationToken cancellationToken)
    {
        var error = parseResult.InvocationConfiguration.Error;
        var connectionString = CliConfiguration.Load().RequirePostgres(error);
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
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"Interrupted: {moves.Moved} message(s) {verb}, each with its audit row; the rest stay in the dead-letter queue.");
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
        var refused = outcomes.SelectMany(o => o.Refused).ToList();
        foreach (var letter in refused)
        {
            error.WriteLine($"Not {verb}: {Unreadable(letter)}");
        }
        return refused.Count == 0 ? 0 : 1;
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
}
