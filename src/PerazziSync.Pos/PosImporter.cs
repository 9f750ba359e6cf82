using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Dapper;
using Npgsql;

namespace PerazziSync.Pos;

/// <summary>The outcome of one export file, as stored in <c>perazzi_sync.pos_imports</c>.</summary>
public sealed record PosImportOutcome(
    Guid ImportId,
    string FileName,
    bool AlreadyImported,
    long RowsRead,
    long Applied,
    long Superseded,
    long Unchanged,
    long Stale,
    long Parked,
    long Rejected,
    IReadOnlyList<PosRejection> Rejections,
    TimeSpan Elapsed);

public sealed record PosRejection(long Line, string? SourceRecordId, string Reason);

/// <summary>Progress of an import, reported after each committed chunk.</summary>
public sealed record PosImportProgress(long BytesRead, long BytesTotal, long RowsRead);

/// <summary>
/// Imports one POS export: streaming, in chunks of <see cref="PosOptions.ImportChunkSize"/>
/// records, each chunk one transaction with its bookkeeping. The file's content hash makes a
/// second import of the same bytes a no-op, and an import cut short resumes after its last
/// committed chunk: no row is lost or applied twice.
/// </summary>
public sealed class PosImporter(NpgsqlDataSource database, PosRecordParser parser, int chunkSize)
{
    const int RejectionsShown = 100;

    /// <summary>
    /// Imports <paramref name="path"/>, or returns null without reading it when
    /// <paramref name="waitIfBusy"/> is false and another process is importing the same content.
    /// </summary>
    public async Task<PosImportOutcome?> ImportAsync(
        string path, IProgress<PosImportProgress>? progress, CancellationToken cancellationToken, bool waitIfBusy = true)
    {
        var clock = Stopwatch.StartNew();
        var format = PosExportReader.FormatOf(path);
        var hash = await HashAsync(path, cancellationToken);
        var fileName = Path.GetFileName(path);

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // One importer per file content at a time, across processes.
        if (waitIfBusy)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "select pg_advisory_lock(hashtextextended('pos-import:' || @Hash, 0))", new { Hash = hash }, cancellationToken: cancellationToken));
        }
        else if (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select pg_try_advisory_lock(hashtextextended('pos-import:' || @Hash, 0))", new { Hash = hash }, cancellationToken: cancellationToken)))
        {
            return null;
        }
        try
        {
            var state = await StartAsync(connection, hash, fileName, format, cancellationToken);
            if (state.Status == "completed")
            {
                return await OutcomeAsync(connection, state.Id, fileName, alreadyImported: true, clock.Elapsed, cancellationToken);
            }

            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            var metadata = new JsonObject
            {
                ["source_system"] = ServiceEventWriter.SourceSystem,
                ["import_id"] = state.Id.ToString(),
                ["file_name"] = fileName,
                ["trace_id"] = Activity.Current?.TraceId.ToString(),
            }.ToJsonString();

            // The file is read one chunk ahead of the database: parsing the next chunk overlaps
            // with writing this one, and at most two chunks are ever in memory.
            var chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
            var reading = Task.Run(() => ReadChunksAsync(file, format, state.NextLine, chunks.Writer, cancellationToken), cancellationToken);
            var rowsRead = state.RowsRead;
            try
            {
                await foreach (var chunk in chunks.Reader.ReadAllAsync(cancellationToken))
                {
                    await CommitChunkAsync(connection, state.Id, chunk, metadata, cancellationToken);
                    rowsRead += chunk.RowsRead;
                    progress?.Report(new PosImportProgress(chunk.BytesRead, file.Length, rowsRead));
                }
                await reading;
            }
            catch (PosExportException e)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "update perazzi_sync.pos_imports set status = 'failed', error = @Error, finished_at = now() where id = @Id",
                    new { state.Id, Error = e.Message }, cancellationToken: cancellationToken));
                throw;
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "update perazzi_sync.pos_imports set status = 'completed', finished_at = now() where id = @Id",
                new { state.Id }, cancellationToken: cancellationToken));
            return await OutcomeAsync(connection, state.Id, fileName, alreadyImported: false, clock.Elapsed, cancellationToken);
        }
        finally
        {
            await connection.ExecuteAsync("select pg_advisory_unlock(hashtextextended('pos-import:' || @Hash, 0))", new { Hash = hash });
        }
    }

    /// <summary>Rows of the file from one line to the next, ready to commit together.</summary>
    sealed class Chunk
    {
        public Dictionary<string, RecordToWrite> Records { get; } = new(StringComparer.Ordinal);

        public List<PosRejection> Rejections { get; } = [];

        public long RowsRead { get; set; }

        public long Superseded { get; set; }

        public long Stale { get; set; }

        /// <summary>The first line after the chunk: where a resumed import starts.</summary>
        public long NextLine { get; set; }

        public long BytesRead { get; set; }
    }

    async Task ReadChunksAsync(Stream file, string format, long firstLine, ChannelWriter<Chunk> chunks, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            var chunk = new Chunk { NextLine = firstLine };
            await foreach (var row in PosExportReader.ReadAsync(file, format, parser, cancellationToken))
            {
                if (row.Line < firstLine)
                {
                    continue;
                }
                chunk.NextLine = row.Line + 1;
                chunk.RowsRead++;
                if (row.Result.Record is not { } record)
                {
                    chunk.Rejections.Add(new PosRejection(row.Line, row.Result.SourceRecordId, row.Result.Error!));
                    continue;
                }
                // Within a chunk only the newest version of a record is written; an older one
                // that comes later in the file is stale, one that came earlier is superseded.
                if (chunk.Records.TryGetValue(record.SourceRecordId, out var seen))
                {
                    if (record.UpdatedAt >= seen.Record.UpdatedAt)
                    {
                        chunk.Superseded++;
                        chunk.Records[record.SourceRecordId] = new RecordToWrite(record, row.Line);
                    }
                    else
                    {
                        chunk.Stale++;
                    }
                }
                else
                {
                    chunk.Records[record.SourceRecordId] = new RecordToWrite(record, row.Line);
                }
                if (chunk.Records.Count >= chunkSize)
                {
                    chunk.BytesRead = file.Position;
                    await chunks.WriteAsync(chunk, cancellationToken);
                    chunk = new Chunk { NextLine = chunk.NextLine };
                }
            }
            chunk.BytesRead = file.Length;
            await chunks.WriteAsync(chunk, cancellationToken);
        }
        catch (Exception e)
        {
            failure = e;
            throw;
        }
        finally
        {
            chunks.TryComplete(failure);
        }
    }

    /// <summary>Writes the chunk, its rejections and the import's progress in one transaction.</summary>
    static async Task CommitChunkAsync(
        NpgsqlConnection connection, Guid importId, Chunk chunk, string metadata, CancellationToken cancellationToken)
    {
        var rejections = chunk.Rejections;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var written = chunk.Records.Count > 0
            ? await ServiceEventWriter.WriteAsync(transaction, chunk.Records.Values, metadata, null, cancellationToken)
            : WriteCounts.None;
        if (rejections.Count > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition("""
                insert into perazzi_sync.pos_import_rejections (import_id, line, source_record_id, reason)
                select @ImportId, line, source_record_id, reason
                from unnest(@Lines, @Ids, @Reasons) as r(line, source_record_id, reason)
                on conflict do nothing
                """, new
            {
                ImportId = importId,
                Lines = rejections.Select(r => r.Line).ToArray(),
                Ids = rejections.Select(r => r.SourceRecordId).ToArray(),
                Reasons = rejections.Select(r => r.Reason).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            update perazzi_sync.pos_imports set
              next_line = greatest(next_line, @NextLine),
              rows_read = rows_read + @RowsRead,
              applied = applied + @Applied,
              superseded = superseded + @Superseded,
              unchanged = unchanged + @Unchanged,
              stale = stale + @Stale,
              parked = parked + @Parked,
              rejected = rejected + @Rejected
            where id = @ImportId
            """, new
        {
            ImportId = importId,
            chunk.NextLine,
            chunk.RowsRead,
            written.Applied,
            chunk.Superseded,
            written.Unchanged,
            Stale = chunk.Stale + written.Stale,
            written.Parked,
            Rejected = (long)rejections.Count,
        }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        PosMetrics.ImportRows(written.Applied, "applied");
        PosMetrics.ImportRows(chunk.Superseded, "superseded");
        PosMetrics.ImportRows(written.Unchanged, "unchanged");
        PosMetrics.ImportRows(chunk.Stale + written.Stale, "stale");
        PosMetrics.ImportRows(written.Parked, "parked");
        PosMetrics.ImportRows(rejections.Count, "rejected");
    }

    sealed record ImportState(Guid Id, string Status, long NextLine, long RowsRead);

    static async Task<ImportState> StartAsync(
        NpgsqlConnection connection, string hash, string fileName, string format, CancellationToken cancellationToken)
    {
        const string sql = """
            insert into perazzi_sync.pos_imports (content_hash, file_name, format)
            values (@Hash, @FileName, @Format)
            on conflict on constraint pos_imports_content_unique do update set
              status = case when pos_imports.status = 'failed' then 'running' else pos_imports.status end
            returning id as "Id", status as "Status", next_line as "NextLine", rows_read as "RowsRead"
            """;
        return await connection.QuerySingleAsync<ImportState>(new CommandDefinition(
            sql, new { Hash = hash, FileName = fileName, Format = format }, cancellationToken: cancellationToken));
    }

    static async Task<PosImportOutcome> OutcomeAsync(
        NpgsqlConnection connection, Guid importId, string fileName, bool alreadyImported, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var totals = await connection.QuerySingleAsync<(long RowsRead, long Applied, long Superseded, long Unchanged, long Stale, long Parked, long Rejected)>(
            new CommandDefinition("""
                select rows_read, applied, superseded, unchanged, stale, parked, rejected
                from perazzi_sync.pos_imports where id = @ImportId
                """, new { ImportId = importId }, cancellationToken: cancellationToken));
        var rejections = (await connection.QueryAsync<PosRejection>(new CommandDefinition($"""
            select line as "Line", source_record_id as "SourceRecordId", reason as "Reason"
            from perazzi_sync.pos_import_rejections where import_id = @ImportId order by line limit {RejectionsShown}
            """, new { ImportId = importId }, cancellationToken: cancellationToken))).AsList();
        return new PosImportOutcome(importId, fileName, alreadyImported, totals.RowsRead, totals.Applied, totals.Superseded,
            totals.Unchanged, totals.Stale, totals.Parked, totals.Rejected, rejections, elapsed);
    }

    static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }
}
