using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Npgsql;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using Spectre.Console;

namespace PerazziSync.Cli;

static class PosImportCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A POS export: .csv (header row, RFC 4180) or .ndjson" };
        var import = new Command("import",
            "Import a POS batch export into service_events. Importing the same file again changes nothing; an import cut short resumes.")
        {
            file,
        };
        import.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var configuration = CliConfiguration.Load();
            var connectionString = configuration.RequirePostgres(error);
            if (connectionString is null)
            {
                return 2;
            }
            var path = parseResult.GetValue(file)!;
            if (!path.Exists)
            {
                error.WriteLine($"{path.FullName} does not exist.");
                return 2;
            }
            if (configuration.Pos(error) is not { } options)
            {
                return 2;
            }
            TimeZoneInfo zone;
            try
            {
                zone = options.Zone();
            }
            catch (TimeZoneNotFoundException)
            {
                error.WriteLine($"Pos:TimeZone '{options.TimeZone}' is not a known IANA time zone.");
                return 2;
            }

            await using var database = NpgsqlDataSource.Create(connectionString);
            var importer = new PosImporter(database, new PosRecordParser(zone, TimeProvider.System, options.UpdatedAtMaxAhead), options.ImportChunkSize, options.BatchWriteTimeout);
            var console = CliConsole.Create(output);
            Task<PosImportOutcome?> ImportAsync(bool waitIfBusy) => console.Profile.Capabilities.Interactive
                ? WithProgressBarAsync(console, importer, path, waitIfBusy, cancellationToken)
                : importer.ImportAsync(path.FullName, new LineProgress(output), cancellationToken, waitIfBusy, namedByOperator: true);
            PosImportOutcome outcome;
            try
            {
                if (await ImportAsync(waitIfBusy: false) is not { } imported)
                {
                    output.WriteLine($"Another import of the same content as {path.Name} is running; waiting for it to end (Ctrl+C stops waiting).");
                    imported = (await ImportAsync(waitIfBusy: true))!;
                }
                outcome = imported;
            }
            catch (PosExportException e)
            {
                error.WriteLine($"{path.Name}: {e.Message}");
                return 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Its bytes cannot be read (permissions, an I/O error) or it went away after the
                // check above: an answer for the operator, not a bug with a stack trace.
                error.WriteLine($"{path.Name}: the file cannot be read: {e.Message}");
                return 1;
            }
            Summarise(console, outcome);
            return 0;
        });
        return new Command("pos", "Perazzi POS batch exports.") { import };
    }

    static async Task<PosImportOutcome?> WithProgressBarAsync(
        IAnsiConsole console, PosImporter importer, FileInfo path, bool waitIfBusy, CancellationToken cancellationToken)
    {
        PosImportOutcome? outcome = null;
        await console.Progress().StartAsync(async context =>
        {
            var task = context.AddTask(path.Name, maxValue: Math.Max(path.Length, 1));
            outcome = await importer.ImportAsync(path.FullName,
                new Progress<PosImportProgress>(p => task.Value = p.BytesRead), cancellationToken, waitIfBusy, namedByOperator: true);
            if (outcome is not null)
            {
                task.Value = task.MaxValue;
            }
        });
        return outcome;
    }

    /// <summary>Progress as plain lines when the output is not a terminal (logs, CI).</summary>
    sealed class LineProgress(TextWriter output) : IProgress<PosImportProgress>
    {
        public void Report(PosImportProgress value) =>
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{value.BytesRead * 100.0 / Math.Max(value.BytesTotal, 1):0}% read, {value.RowsRead:N0} rows"));
    }

    static void Summarise(IAnsiConsole console, PosImportOutcome outcome)
    {
        if (outcome.AlreadyImported)
        {
            console.MarkupLineInterpolated($"[yellow]{outcome.FileName} was imported before (import {outcome.ImportId}); nothing changed. Its outcome:[/]");
        }
        var table = new Table().AddColumn("outcome").AddColumn(new TableColumn("rows").RightAligned());
        void Row(string name, long count) => table.AddRow(name, count.ToString("N0", CultureInfo.InvariantCulture));
        Row("read", outcome.RowsRead);
        Row("applied", outcome.Applied);
        Row("superseded by a newer row of the file", outcome.Superseded);
        Row("unchanged", outcome.Unchanged);
        Row("stale (older than what is stored)", outcome.Stale);
        Row("parked (serial unknown or not verified)", outcome.Parked);
        Row("rejected", outcome.Rejected);
        console.Write(table);
        if (outcome.Verified > 0)
        {
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{outcome.Verified:N0} claimed gun(s) verified by a record naming the claimant's confirmed e-mail (pos_match)."));
        }
        if (outcome.Rejections.Count > 0)
        {
            var rejections = new Table().AddColumn(new TableColumn("line").RightAligned()).AddColumn("record").AddColumn("reason");
            foreach (var rejection in outcome.Rejections)
            {
                rejections.AddRow(
                    rejection.Line.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(rejection.SourceRecordId ?? "-"),
                    Markup.Escape(rejection.Reason));
            }
            console.Write(rejections);
            if (outcome.Rejected > outcome.Rejections.Count)
            {
                console.MarkupLineInterpolated($"… and {outcome.Rejected - outcome.Rejections.Count} more in perazzi_sync.pos_import_rejections (import {outcome.ImportId}).");
            }
        }
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Import {outcome.ImportId}: {outcome.Elapsed.TotalSeconds:0.0} s."));
    }
}
