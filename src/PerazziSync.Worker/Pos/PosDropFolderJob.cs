using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using PerazziSync.Worker.Sync;
using Quartz;

namespace PerazziSync.Worker.Pos;

/// <summary>
/// Imports the exports the POS drops into <c>Pos:DropFolder</c>. A file is taken only once it is
/// complete: its size and write time have not changed for <c>Pos:DropFolderSettleTime</c> (a file
/// renamed into place is complete at once, since it arrives with its whole size). Workers claim a
/// file by renaming it into <c>processing/</c>, which only one of them can do; afterwards it moves
/// to <c>processed/</c> or, with a <c>.error.txt</c> beside it, to <c>failed/</c>. A file left in
/// <c>processing/</c> by a stopped worker is resumed where its import stopped.
/// </summary>
/// <remarks>
/// One file never holds up the others: a file that cannot be read goes to <c>failed/</c> at
/// once, one whose import fails for another reason is tried again at the next polls and given up
/// after <see cref="MaxAttempts"/> attempts without progress (counted in the database, so a
/// worker that dies on it counts too; a transient fault's does not), and the files after it are
/// imported meanwhile. Only a transient fault of the database ends a poll early: every file would
/// fail the same way.
/// </remarks>
[DisallowConcurrentExecution]
public sealed class PosDropFolderJob(
    NpgsqlDataSource database,
    PosRecordParser parser,
    IOptions<PosOptions> options,
    TimeProvider time,
    ILogger<PosDropFolderJob> logger) : IJob
{
    public static readonly JobKey Key = new("pos-drop-folder");

    public const int MaxAttempts = 3;

    static readonly string[] Formats = [".csv", ".ndjson", ".jsonl"];

    /// <summary>Size and write time of each candidate at the previous poll.</summary>
    static readonly ConcurrentDictionary<string, (long Length, DateTime WrittenAt)> Seen = new();

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.DropFolder is not { Length: > 0 } root)
        {
            // No drop folder configured: the POS sends callbacks only, or exports go through the Cli.
            return;
        }
        var processing = Directory.CreateDirectory(Path.Combine(root, "processing")).FullName;
        var importer = new PosImporter(database, parser, settings.ImportChunkSize, settings.BatchWriteTimeout);

        foreach (var left in Directory.EnumerateFiles(processing).Where(IsExport).ToList())
        {
            if (!await ImportAsync(importer, root, left, cancellationToken))
            {
                return;
            }
        }
        foreach (var candidate in Directory.EnumerateFiles(root).Where(IsExport).ToList())
        {
            if (!IsComplete(candidate, settings.DropFolderSettleTime))
            {
                continue;
            }
            var claimed = Path.Combine(processing, Path.GetFileName(candidate));
            try
            {
                File.Move(candidate, claimed);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another worker claimed it first, or the writer still holds it.
                continue;
            }
            Seen.TryRemove(candidate, out _);
            if (!await ImportAsync(importer, root, claimed, cancellationToken))
            {
                return;
            }
        }
    }

    bool IsComplete(string path, TimeSpan settleTime)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return false;
        }
        var now = (file.Length, file.LastWriteTimeUtc);
        var before = Seen.GetValueOrDefault(path);
        Seen[path] = now;
        return before == now && time.GetUtcNow().UtcDateTime - file.LastWriteTimeUtc >= settleTime;
    }

    /// <summary>Imports one claimed file; false when the database is unreachable and the poll should end.</summary>
    async Task<bool> ImportAsync(PosImporter importer, string root, string path, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        // Anyone who can write to the folder names its files: logged, a name shows its control characters as '?'.
        var logged = PrintableText.Of(name);
        string? failure = null;
        try
        {
            var outcome = await importer.ImportAsync(path, progress: null, cancellationToken, waitIfBusy: false, MaxAttempts);
            if (outcome is null)
            {
                // Another worker is importing this content right now.
                return true;
            }
            WorkerLog.PosFileImported(logger, logged, outcome.Applied, outcome.Parked, outcome.Rejected);
        }
        catch (PosExportException e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // A worker that resumed the same file moved it already.
            return true;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            failure = $"the file cannot be read: {e.Message}";
        }
        catch (Exception e) when (TransientFaults.Is(e))
        {
            WorkerLog.PosFileWaiting(logger, logged, e.Message);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            WorkerLog.PosFileAttemptFailed(logger, e, logged, MaxAttempts);
            return true;
        }
        if (failure is not null)
        {
            WorkerLog.PosFileFailed(logger, logged, PrintableText.Of(failure));
        }
        // The reason is named after the file as moved, which a file of the same name met there renames.
        if (Move(root, path, failure is null ? "processed" : "failed") is { } moved && failure is not null)
        {
            await File.WriteAllTextAsync(moved + ".error.txt", failure, cancellationToken);
        }
        return true;
    }

    /// <summary>Where the file went, or null when another worker had moved it already.</summary>
    string? Move(string root, string path, string destination)
    {
        var folder = Directory.CreateDirectory(Path.Combine(root, destination)).FullName;
        var target = Path.Combine(folder, Path.GetFileName(path));
        for (var taken = 1; ; taken++)
        {
            try
            {
                File.Move(path, target);
                return target;
            }
            catch (FileNotFoundException)
            {
                // A worker that resumed the same file moved it already.
                return null;
            }
            catch (IOException) when (File.Exists(target))
            {
                var suffix = taken == 1 ? "" : $"-{taken}";
                target = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(path)}.{time.GetUtcNow():yyyyMMddHHmmss}{suffix}{Path.GetExtension(path)}");
            }
        }
    }

    static bool IsExport(string path)
    {
        var name = Path.GetFileName(path);
        return !name.StartsWith('.') && Formats.Contains(Path.GetExtension(name).ToLowerInvariant());
    }
}
