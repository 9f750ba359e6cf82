using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Pos;
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
[DisallowConcurrentExecution]
public sealed class PosDropFolderJob(
    NpgsqlDataSource database,
    PosRecordParser parser,
    IOptions<PosOptions> options,
    TimeProvider time,
    ILogger<PosDropFolderJob> logger) : IJob
{
    public static readonly JobKey Key = new("pos-drop-folder");

    static readonly string[] Formats = [".csv", ".ndjson", ".jsonl"];

    /// <summary>Size and write time of each candidate at the previous poll.</summary>
    static readonly ConcurrentDictionary<string, (long Length, DateTime WrittenAt)> Seen = new();

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var root = settings.DropFolder!;
        var processing = Directory.CreateDirectory(Path.Combine(root, "processing")).FullName;
        var importer = new PosImporter(database, parser, settings.ImportChunkSize);

        foreach (var left in Directory.EnumerateFiles(processing).Where(IsExport))
        {
            await ImportAsync(importer, root, left, cancellationToken);
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
            await ImportAsync(importer, root, claimed, cancellationToken);
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

    async Task ImportAsync(PosImporter importer, string root, string path, CancellationToken cancellationToken)
    {
        string destination;
        try
        {
            var outcome = await importer.ImportAsync(path, progress: null, cancellationToken, waitIfBusy: false);
            if (outcome is null)
            {
                // Another worker is importing this content right now.
                return;
            }
            WorkerLog.PosFileImported(logger, Path.GetFileName(path), outcome.Applied, outcome.Parked, outcome.Rejected);
            destination = "processed";
        }
        catch (PosExportException e)
        {
            WorkerLog.PosFileFailed(logger, Path.GetFileName(path), e.Message);
            await File.WriteAllTextAsync(Path.Combine(Directory.CreateDirectory(Path.Combine(root, "failed")).FullName,
                Path.GetFileName(path) + ".error.txt"), e.Message, cancellationToken);
            destination = "failed";
        }
        catch (FileNotFoundException)
        {
            return;
        }
        var folder = Directory.CreateDirectory(Path.Combine(root, destination)).FullName;
        var target = Path.Combine(folder, Path.GetFileName(path));
        if (File.Exists(target))
        {
            target = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(path)}.{time.GetUtcNow():yyyyMMddHHmmss}{Path.GetExtension(path)}");
        }
        try
        {
            File.Move(path, target);
        }
        catch (FileNotFoundException)
        {
            // A worker that resumed the same file moved it already.
        }
    }

    static bool IsExport(string path)
    {
        var name = Path.GetFileName(path);
        return !name.StartsWith('.') && Formats.Contains(Path.GetExtension(name).ToLowerInvariant());
    }
}
