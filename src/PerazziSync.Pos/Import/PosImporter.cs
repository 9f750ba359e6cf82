using System.Data;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;

namespace PerazziSync.Pos.Import;

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
    long Verified,
    IReadOnlyList<PosRejection> Rejections,
    TimeSpan Elapsed);

public sealed record PosRejection(long Line, string? SourceRecordId, string Reason);

/// <summary>Progress of an import, reported after each committed chunk.</summary>
public sealed record PosImportProgress(long BytesRead, long BytesTotal, long RowsRead);

/// <summary>
/// Imports one POS export: streaming, in chunks of <see cref="PosOptions.ImportChunkSize"/>
/// rows, each chunk one transaction with its bookkeeping, two chunks written at once unless their
/// order matters (<see cref="ChunkFootprint"/>). The file's content hash makes a second import of
/// the same bytes a no-op, and an import cut short resumes with the lines no committed chunk
/// covers: no row is lost or applied twice. A bad row is a rejection, never a failed chunk. A
/// chunk's statements wait for the database's answers, and its session may sit idle, in the
/// chunk's transaction or between them, at most <paramref name="writeTimeout"/>
/// (<see cref="PosOptions.BatchWriteTimeout"/>).
/// </summary>
public sealed class PosImporter(NpgsqlDataSource database, PosRecordParser parser, int chunkSize, TimeSpan writeTimeout)
{
    const int RejectionsShown = 100;

    /// <summary>
    /// A chunk is also cut once its records hold this many characters of raw payload, so that a
    /// chunk of long records (each up to 1 MiB) stays a few megabytes.
    /// </summary>
    const long ChunkCharacters = 4 << 20;

    const int MaxFileNameLength = 255;

    const int MaxErrorLength = 2_000;

    /// <summary>
    /// Chunks written at once, each on a connection of its own: while one runs the statements
    /// that wait on the import (the claims, the commit), the other's write runs.
    /// </summary>
    const int Writers = 2;

    /// <summary>How long an attempt ended by a transient fault tries to give its attempt back.</summary>
    static readonly TimeSpan GiveBackPatience = TimeSpan.FromSeconds(10);

    /// <summary>How often an import waiting for another import of the same content tries its lock.</summary>
    static readonly TimeSpan LockRetryPause = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Imports <paramref name="path"/>, or returns null without reading it when
    /// <paramref name="waitIfBusy"/> is false and another process is importing the same content.
    /// Every start of an import counts as an attempt until a chunk commits, but one that a
    /// transient fault or a cancellation ends gives its attempt back; with
    /// <paramref name="maxAttempts"/>, the attempt that fails (or would start) after that many
    /// without progress gives the file up with a <see cref="PosExportException"/>. Only a regular
    /// file is read, and a symbolic link or a file with several links only when
    /// <paramref name="namedByOperator"/> (see <see cref="ExportFile"/>).
    /// </summary>
    public async Task<PosImportOutcome?> ImportAsync(
        string path, IProgress<PosImportProgress>? progress, CancellationToken cancellationToken, bool waitIfBusy = true,
        int? maxAttempts = null, bool namedByOperator = false)
    {
        var clock = Stopwatch.StartNew();
        var format = PosExportReader.FormatOf(path);
        var hash = await HashAsync(path, namedByOperator, cancellationToken);
        var fileName = StorableText.Of(Path.GetFileName(path), MaxFileNameLength)!;

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        // Should the connection fall silent outside a chunk's transaction (the answer granting the
        // lock below lost, say), PostgreSQL ends the idle session and the lock with it, instead of
        // the file waiting until the server notices the connection gone. Reset before the
        // connection goes back to the pool.
        await connection.ExecuteAsync(new CommandDefinition(
            $"set idle_session_timeout = {(long)Math.Ceiling(writeTimeout.TotalMilliseconds)}", cancellationToken: cancellationToken));
        // One importer per file content at a time, across processes. The lock is tried again and
        // again rather than waited for in one statement: each try has the connection's command
        // timeout, so a connection that falls silent during a long wait fails the import instead
        // of waiting for ever. The pause stays under the idle session timeout set above.
        var pause = TimeSpan.FromTicks(Math.Min(LockRetryPause.Ticks, writeTimeout.Ticks / 2));
        while (!await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select pg_try_advisory_lock(hashtextextended('pos-import:' || @Hash, 0))", new { Hash = hash }, cancellationToken: cancellationToken)))
        {
            if (!waitIfBusy)
            {
                await connection.ExecuteAsync("reset idle_session_timeout");
                return null;
            }
            await Task.Delay(pause, cancellationToken);
        }
        try
        {
            var state = await StartAsync(connection, hash, fileName, format, cancellationToken);
            if (state.Status == "completed")
            {
                return await OutcomeAsync(connection, state.Id, fileName, alreadyImported: true, clock.Elapsed, cancellationToken);
            }
            // The attempts before this one started and never finished: the process died on the file.
            if (state.Attempts > maxAttempts)
            {
                var reason = $"gave up after {maxAttempts} attempts that did not finish (last error: {state.Error ?? "none; the process stopped during each"})";
                await FailAsync(connection, state.Id, reason, cancellationToken);
                throw new PosExportException(reason);
            }
            try
            {
                await ReadAndCommitAsync(connection, path, namedByOperator, hash, fileName, format, state, progress, cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException || DatabaseFaults.IsConcurrentDelete(e) || (e is NpgsqlException database && DatabaseFaults.IsTransient(database)))
            {
                await GiveBackAttemptAsync(state.Id, e as NpgsqlException);
                throw;
            }
            catch (Exception e)
            {
                if (e is PosExportException)
                {
                    await FailAsync(connection, state.Id, e.Message, cancellationToken);
                    throw;
                }
                if (state.Attempts >= maxAttempts)
                {
                    var reason = $"gave up after {state.Attempts} attempts: {e.Message}";
                    await FailAsync(connection, state.Id, reason, cancellationToken);
                    throw new PosExportException(reason, e);
                }
                await connection.ExecuteAsync(new CommandDefinition(
                    "update perazzi_sync.pos_imports set error = @Error where id = @Id",
                    new { state.Id, Error = StorableText.Of(e.Message, MaxErrorLength) }, cancellationToken: cancellationToken));
                throw;
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "update perazzi_sync.pos_imports set status = 'completed', error = null, finished_at = now() where id = @Id",
                new { state.Id }, cancellationToken: cancellationToken));
            return await OutcomeAsync(connection, state.Id, fileName, alreadyImported: false, clock.Elapsed, cancellationToken);
        }
        finally
        {
            // A connection broken mid-import (one that fell silent, timed out) takes the lock with
            // its session, which PostgreSQL ends.
            if (connection.State == ConnectionState.Open)
            {
                await connection.ExecuteAsync(
                    "select pg_advisory_unlock(hashtextextended('pos-import:' || @Hash, 0)); reset idle_session_timeout", new { Hash = hash });
            }
        }
    }

    /// <summary>
    /// An attempt that the database's fault (unreachable, silent, a deadlock) or the process
    /// stopping ended is not the file's: it no longer counts, so that no outage gives a file up.
    /// Told on a connection of its own, the one of the import may be broken; if the database
    /// cannot be told, the attempt counts, as a killed process's does.
    /// </summary>
    async Task GiveBackAttemptAsync(Guid importId, NpgsqlException? fault)
    {
        using var patience = new CancellationTokenSource(GiveBackPatience);
        try
        {
            await using var connection = await database.OpenConnectionAsync(patience.Token);
            await connection.ExecuteAsync(new CommandDefinition(
                "update perazzi_sync.pos_imports set attempts = attempts - 1, error = coalesce(@Error, error) where id = @Id and status = 'running'",
                new { Id = importId, Error = StorableText.Of(fault?.Message, MaxErrorLength) }, cancellationToken: patience.Token));
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            // Still away: this attempt counts.
        }
    }

    static async Task FailAsync(NpgsqlConnection connection, Guid importId, string reason, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "update perazzi_sync.pos_imports set status = 'failed', error = @Error, finished_at = now() where id = @Id",
            new { Id = importId, Error = StorableText.Of(reason, MaxErrorLength) }, cancellationToken: cancellationToken));

    /// <summary>
    /// Reads the file and commits it chunk by chunk; then checks that what was read is the content
    /// <paramref name="hash"/> names (the import's key), since a file can be rewritten, truncated
    /// or appended to between the hash and the end of the import.
    /// </summary>
    async Task ReadAndCommitAsync(
        NpgsqlConnection connection, string path, bool namedByOperator, string hash, string fileName, string format, ImportState state,
        IProgress<PosImportProgress>? progress, CancellationToken cancellationToken)
    {
        await using var file = ExportFile.OpenRead(path, namedByOperator);
        await using var read = new HashingStream(file);
        var audit = AuditContext.For(ServiceEventRows.SourceSystem)
            .With("import_id", state.Id.ToString())
            .With("file_name", fileName);

        // The file is read one chunk ahead of the database: parsing the next chunk overlaps
        // with writing these, and at most four chunks are ever in memory (two being written,
        // one waiting, one being read).
        var chunks = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(1) { SingleReader = true, SingleWriter = true });
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var reading = Task.Run(() => ReadChunksAsync(read, file, format, state.Committed, chunks.Writer, stopReading.Token), stopReading.Token);
        // Opened only when a chunk is written beside another: an export of one chunk takes one connection.
        NpgsqlConnection? second = null;
        var told = new Progress(progress, file.Length, state.RowsRead);
        var writing = new List<Writing>(Writers);
        try
        {
            await foreach (var chunk in chunks.Reader.ReadAllAsync(cancellationToken))
            {
                if (writing.Count == Writers)
                {
                    var done = await Task.WhenAny(writing.Select(w => w.Task));
                    await done;
                    writing.RemoveAll(w => w.Task == done);
                }
                var writer = writing.Any(w => w.Connection == connection) ? second ??= await OpenWriterAsync(cancellationToken) : connection;
                var footprint = await FootprintAsync(writer, chunk, cancellationToken);
                // A chunk whose order with one being written matters waits for its commit.
                foreach (var earlier in writing.Where(w => w.Footprint.Overlaps(footprint)).ToList())
                {
                    await earlier.Task;
                    writing.Remove(earlier);
                }
                writing.Add(new Writing(writer, footprint, WriteChunkAsync(writer, state.Id, chunk, audit, told, cancellationToken)));
            }
            await Task.WhenAll(writing.Select(w => w.Task));
            await reading;
        }
        finally
        {
            // A failed chunk leaves the reader waiting to hand over the next one: stop it before
            // the file closes under it. Its own failure, if any, was already seen through the channel.
            // The other chunk being written ends before the import's connection is used again.
            await stopReading.CancelAsync();
            await reading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await Task.WhenAll(writing.Select(w => w.Task)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (second is not null)
            {
                await using (second)
                {
                    if (second.State == ConnectionState.Open)
                    {
                        await second.ExecuteAsync("reset idle_session_timeout");
                    }
                }
            }
        }
        if (read.Hash() != hash)
        {
            // The records read were in the file when they were read, and stay applied; but this
            // import is not the import of the content it is keyed by, which would otherwise be
            // found completed, or resumed after lines it never read, by the next import of it.
            await connection.ExecuteAsync(new CommandDefinition(
                "update perazzi_sync.pos_imports set content_hash = 'changed during import ' || id where id = @Id",
                new { state.Id }, cancellationToken: cancellationToken));
            throw new PosExportException(
                "the file changed while it was imported (written, truncated or replaced); the rows read were applied, import it again once it is complete");
        }
    }

    /// <summary>A chunk being written on <see cref="Connection"/>.</summary>
    sealed record Writing(NpgsqlConnection Connection, ChunkFootprint Footprint, Task Task);

    /// <summary>The import's rows read so far, told to its progress as each chunk commits, whichever commits first.</summary>
    sealed class Progress(IProgress<PosImportProgress>? progress, long bytesTotal, long rowsRead)
    {
        readonly Lock _lock = new();
        long _bytesRead;

        public void Committed(Chunk chunk)
        {
            lock (_lock)
            {
                rowsRead += chunk.RowsRead;
                _bytesRead = Math.Max(_bytesRead, chunk.BytesRead);
                progress?.Report(new PosImportProgress(_bytesRead, bytesTotal, rowsRead));
            }
        }
    }

    /// <summary>A connection for the import's second writer, whose session ends as the import's does when it falls silent.</summary>
    async Task<NpgsqlConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        var connection = await database.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"set idle_session_timeout = {(long)Math.Ceiling(writeTimeout.TotalMilliseconds)}", cancellationToken: cancellationToken));
        return connection;
    }

    /// <summary>The chunk's <see cref="ChunkFootprint"/>: its serials as the database normalises them, and which are claimed now.</summary>
    async Task<ChunkFootprint> FootprintAsync(NpgsqlConnection connection, Chunk chunk, CancellationToken cancellationToken)
    {
        var serials = chunk.Records.Values.SelectMany(v => v).Select(r => r.Record.SerialNumber).Distinct(StringComparer.Ordinal).ToArray();
        await using var transaction = await ServiceRole.BeginAsync(connection, null, writeTimeout, cancellationToken);
        var found = (await connection.QueryAsync<(string Serial, bool Claimed)>(new CommandDefinition("""
            select s.serial, exists (select from perazzi_assets a
                                     where a.serial_number = s.serial and a.verification_status in ('unverified', 'pending'))
            from (select distinct upper(btrim(x)) as serial from unnest(@Serials::text[]) x) s
            """, new { Serials = serials }, transaction, commandTimeout: WriteSeconds, cancellationToken: cancellationToken))).AsList();
        await transaction.CommitAsync(cancellationToken);
        return new ChunkFootprint(
            chunk.Records.Keys.ToHashSet(StringComparer.Ordinal),
            found.Select(f => f.Serial).ToHashSet(StringComparer.Ordinal),
            found.Where(f => f.Claimed).Select(f => f.Serial).ToHashSet(StringComparer.Ordinal));
    }

    async Task WriteChunkAsync(
        NpgsqlConnection connection, Guid importId, Chunk chunk, AuditContext audit, Progress told, CancellationToken cancellationToken)
    {
        // Off the dispatching loop, which goes on to the next chunk.
        await Task.Yield();
        await CommitChunkAsync(connection, importId, chunk, audit, cancellationToken);
        told.Committed(chunk);
    }

    /// <summary>Rows of the file from one line to the next, ready to commit together.</summary>
    sealed class Chunk(long firstLine)
    {
        /// <summary>
        /// The newest version of each record in the chunk, by source_record_id; several when lines
        /// hold the same version with different content, which only the database can order (by the
        /// digest of the stored payload).
        /// </summary>
        public Dictionary<string, List<RecordToWrite>> Records { get; } = new(StringComparer.Ordinal);

        public List<PosRejection> Rejections { get; } = [];

        public long RowsRead { get; set; }

        /// <summary>Characters of raw payload in <see cref="Records"/> and of rejections, roughly.</summary>
        public long Characters { get; set; }

        public long Superseded { get; set; }

        public long Stale { get; set; }

        /// <summary>The first line the chunk may hold: the line after the chunk before it.</summary>
        public long FirstLine { get; } = firstLine;

        /// <summary>The first line after the chunk.</summary>
        public long NextLine { get; set; } = firstLine;

        public long BytesRead { get; set; }
    }

    /// <summary>
    /// Parses <paramref name="content"/>, read from <paramref name="file"/> (whose position tells
    /// the progress), into chunks of the lines not <paramref name="committed"/> before.
    /// </summary>
    async Task ReadChunksAsync(
        Stream content, FileStream file, string format, CommittedLines committed, ChannelWriter<Chunk> chunks, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            var chunk = new Chunk(committed.First);
            await foreach (var row in PosExportReader.ReadAsync(content, format, parser, cancellationToken))
            {
                if (committed.Contains(row.Line))
                {
                    continue;
                }
                chunk.NextLine = row.Line + 1;
                chunk.RowsRead++;
                if (row.Result.Record is not { } record)
                {
                    chunk.Rejections.Add(new PosRejection(row.Line, row.Result.SourceRecordId, row.Result.Error!));
                    chunk.Characters += (row.Result.SourceRecordId?.Length ?? 0) + row.Result.Error!.Length;
                }
                else
                {
                    Add(chunk, record, row.Line);
                }
                // Cut by rows read, not records kept: a file of bad lines, or of one record in
                // many versions, flushes as often as a good one.
                if (chunk.RowsRead >= chunkSize || chunk.Characters >= ChunkCharacters)
                {
                    chunk.BytesRead = file.Position;
                    await chunks.WriteAsync(chunk, cancellationToken);
                    chunk = new Chunk(chunk.NextLine);
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

    static void Add(Chunk chunk, PosServiceRecord record, long line)
    {
        chunk.Characters += record.RawPayload.Length;
        var toWrite = new RecordToWrite(record, line);
        // Within a chunk only the newest version of a record is written; an older one that
        // comes later in the file is stale, one that came earlier is superseded. Lines of the same
        // version are all written, one statement after the other (CallbackGroups.Statements): the
        // database orders them by their digest, as it does when they come in different chunks or
        // as callbacks, where the file's order would keep whichever line comes last.
        if (!chunk.Records.TryGetValue(record.SourceRecordId, out var newest))
        {
            chunk.Records[record.SourceRecordId] = [toWrite];
        }
        else if (record.UpdatedAt > newest[0].Record.UpdatedAt)
        {
            chunk.Superseded += newest.Count;
            newest.Clear();
            newest.Add(toWrite);
        }
        else if (record.UpdatedAt < newest[0].Record.UpdatedAt)
        {
            chunk.Stale++;
        }
        else
        {
            newest.Add(toWrite);
        }
    }

    /// <summary>The statements of a chunk that may take long wait this many seconds for their answer.</summary>
    int WriteSeconds => (int)Math.Ceiling(writeTimeout.TotalSeconds);

    /// <summary>How many times a chunk chosen as a deadlock's victim is written again before the import fails (transiently).</summary>
    const int DeadlockRetries = 10;

    /// <summary>
    /// Writes the chunk, its rejections and the import's progress in one transaction. A chunk whose
    /// transaction PostgreSQL chose to end a deadlock with, rolled back whole, is written again at
    /// once: a chunk writes in several statements (claims, rounds of the write, bisections), and
    /// another writer (an import, a group of callbacks, the re-match) can lock the same rows in
    /// another order across them. The import's attempt is not the file's to spend on that.
    /// </summary>
    async Task CommitChunkAsync(
        NpgsqlConnection connection, Guid importId, Chunk chunk, AuditContext audit, CancellationToken cancellationToken)
    {
        for (var retry = 1; ; retry++)
        {
            try
            {
                await CommitChunkOnceAsync(connection, importId, chunk, audit, cancellationToken);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DeadlockDetected && retry <= DeadlockRetries)
            {
                // The other writer goes on once this one rolled back; a pause of a few
                // milliseconds keeps two victims from meeting again in step.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 100)), cancellationToken);
            }
        }
    }

    async Task CommitChunkOnceAsync(
        NpgsqlConnection connection, Guid importId, Chunk chunk, AuditContext audit, CancellationToken cancellationToken)
    {
        // The records the database refuses are added to a copy: a chunk written again starts from its own rejections.
        var rejections = new List<PosRejection>(chunk.Rejections);
        await using var transaction = await ServiceRole.BeginAsync(connection, audit, writeTimeout, cancellationToken);
        var written = WriteCounts.None;
        foreach (var statement in CallbackGroups.Statements(chunk.Records.Values.SelectMany(v => v).ToList(), r => r.Record))
        {
            written = written.Add(await WriteRejectingRefusedAsync(transaction, statement, rejections, audit, cancellationToken));
        }
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
                Ids = rejections.Select(r => StorableText.Of(r.SourceRecordId, PosRecordParser.MaxIdLength)).ToArray(),
                Reasons = rejections.Select(r => StorableText.Of(r.Reason, PosRecordParser.MaxReasonLength)).ToArray(),
            }, transaction, cancellationToken: cancellationToken));
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            update perazzi_sync.pos_imports set
              committed_lines = committed_lines + int8multirange(int8range(@FirstLine, @NextLine)),
              -- The first line no chunk covers: the end of the range of committed lines next_line is in.
              next_line = coalesce((select upper(r) from unnest(committed_lines + int8multirange(int8range(@FirstLine, @NextLine))) r
                                    where r @> next_line), next_line),
              rows_read = rows_read + @RowsRead,
              applied = applied + @Applied,
              superseded = superseded + @Superseded,
              unchanged = unchanged + @Unchanged,
              stale = stale + @Stale,
              parked = parked + @Parked,
              rejected = rejected + @Rejected,
              verified = verified + @Verified,
              attempts = 1
            where id = @ImportId
            """, new
        {
            ImportId = importId,
            chunk.FirstLine,
            chunk.NextLine,
            chunk.RowsRead,
            written.Applied,
            chunk.Superseded,
            written.Unchanged,
            Stale = chunk.Stale + written.Stale,
            written.Parked,
            Rejected = (long)rejections.Count,
            written.Verified,
        }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        ImportRows(written.Applied, "applied");
        ImportRows(chunk.Superseded, "superseded");
        ImportRows(written.Unchanged, "unchanged");
        ImportRows(chunk.Stale + written.Stale, "stale");
        ImportRows(written.Parked, "parked");
        ImportRows(rejections.Count, "rejected");
    }

    /// <summary>
    /// Writes the records. If PostgreSQL refuses a value in them (a data exception, or text
    /// Npgsql cannot encode) that the parser let through, the records at fault are found by
    /// writing halves of the chunk under savepoints, each probe rolled back, and become
    /// rejections with the error as their reason; the rest is written once.
    /// </summary>
    async Task<WriteCounts> WriteRejectingRefusedAsync(
        NpgsqlTransaction transaction, List<RecordToWrite> records, List<PosRejection> rejections, AuditContext audit,
        CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return WriteCounts.None;
        }
        await transaction.SaveAsync("chunk", cancellationToken);
        Exception chunkError;
        try
        {
            var written = await ServiceEventRows.WriteAsync(transaction, records, audit, null, WriteSeconds, cancellationToken);
            await transaction.ReleaseAsync("chunk", cancellationToken);
            return written;
        }
        catch (Exception e) when (IsRefusedValue(e))
        {
            await transaction.RollbackAsync("chunk", cancellationToken);
            chunkError = e;
        }
        var refused = new List<(RecordToWrite Record, Exception Error)>();
        await FindRefusedAsync(transaction, records, chunkError, refused, audit, cancellationToken);
        foreach (var (record, error) in refused)
        {
            rejections.Add(new PosRejection(record.Line!.Value, record.Record.SourceRecordId,
                $"PostgreSQL refused the record: {error.Message}"));
        }
        var good = records.Except(refused.Select(r => r.Record)).ToList();
        return good.Count > 0
            ? await ServiceEventRows.WriteAsync(transaction, good, audit, null, WriteSeconds, cancellationToken)
            : WriteCounts.None;
    }

    /// <summary>
    /// Bisects <paramref name="records"/>, which the database refused with <paramref name="error"/>,
    /// down to the records at fault.
    /// </summary>
    async Task FindRefusedAsync(
        NpgsqlTransaction transaction, List<RecordToWrite> records, Exception error, List<(RecordToWrite, Exception)> refused,
        AuditContext audit, CancellationToken cancellationToken)
    {
        if (records.Count == 1)
        {
            refused.Add((records[0], error));
            return;
        }
        var half = records.Count / 2;
        foreach (var part in new[] { records[..half], records[half..] })
        {
            if (await ProbeAsync(transaction, part, audit, cancellationToken) is { } partError)
            {
                await FindRefusedAsync(transaction, part, partError, refused, audit, cancellationToken);
            }
        }
    }

    /// <summary>The error writing <paramref name="records"/> gives, or null; the write itself is rolled back.</summary>
    async Task<Exception?> ProbeAsync(
        NpgsqlTransaction transaction, List<RecordToWrite> records, AuditContext audit, CancellationToken cancellationToken)
    {
        await transaction.SaveAsync("probe", cancellationToken);
        Exception? error = null;
        try
        {
            await ServiceEventRows.WriteAsync(transaction, records, audit, null, WriteSeconds, cancellationToken);
        }
        catch (Exception e) when (IsRefusedValue(e))
        {
            error = e;
        }
        await transaction.RollbackAsync("probe", cancellationToken);
        return error;
    }

    /// <summary>A value the database cannot take: SQLSTATE class 22, or text Npgsql cannot encode.</summary>
    static bool IsRefusedValue(Exception e) =>
        e is PostgresException { SqlState: ['2', '2', ..] } or EncoderFallbackException;

    static void ImportRows(long rows, string outcome)
    {
        if (rows > 0)
        {
            Telemetry.PosImportRows.Add(rows, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    sealed class ImportState
    {
        public Guid Id { get; init; }

        public string Status { get; init; } = "";

        public long NextLine { get; init; }

        public long RowsRead { get; init; }

        public int Attempts { get; init; }

        public string? Error { get; init; }

        public long[] CommittedFrom { get; init; } = [];

        public long[] CommittedTo { get; init; } = [];

        public CommittedLines Committed => new(NextLine, CommittedFrom, CommittedTo);
    }

    /// <summary>
    /// The lines an earlier attempt committed: every line before <see cref="First"/>, and the
    /// ranges [from, to) of chunks committed beyond it, in order.
    /// </summary>
    sealed class CommittedLines(long first, long[] from, long[] to)
    {
        int _range;

        public long First => first;

        /// <summary>Whether <paramref name="line"/> was committed; asked in increasing order of lines.</summary>
        public bool Contains(long line)
        {
            if (line < first)
            {
                return true;
            }
            while (_range < to.Length && to[_range] <= line)
            {
                _range++;
            }
            return _range < from.Length && from[_range] <= line;
        }
    }

    static async Task<ImportState> StartAsync(
        NpgsqlConnection connection, string hash, string fileName, string format, CancellationToken cancellationToken)
    {
        // Counted before any work, so that a process killed on the file counts too; a committed
        // chunk sets it back to one (the file makes progress), and a file given up on and dropped
        // again starts afresh.
        const string sql = """
            insert into perazzi_sync.pos_imports (content_hash, file_name, format, attempts)
            values (@Hash, @FileName, @Format, 1)
            on conflict on constraint pos_imports_content_unique do update set
              status = case when pos_imports.status = 'failed' then 'running' else pos_imports.status end,
              attempts = case pos_imports.status when 'completed' then pos_imports.attempts
                                                 when 'failed' then 1
                                                 else pos_imports.attempts + 1 end
            returning id as "Id", status as "Status", next_line as "NextLine", rows_read as "RowsRead",
                      attempts as "Attempts", error as "Error",
                      array(select lower(r) from unnest(committed_lines) r order by r) as "CommittedFrom",
                      array(select upper(r) from unnest(committed_lines) r order by r) as "CommittedTo"
            """;
        return await connection.QuerySingleAsync<ImportState>(new CommandDefinition(
            sql, new { Hash = hash, FileName = fileName, Format = format }, cancellationToken: cancellationToken));
    }

    static async Task<PosImportOutcome> OutcomeAsync(
        NpgsqlConnection connection, Guid importId, string fileName, bool alreadyImported, TimeSpan elapsed, CancellationToken cancellationToken)
    {
        var totals = await connection.QuerySingleAsync<(long RowsRead, long Applied, long Superseded, long Unchanged, long Stale, long Parked, long Rejected, long Verified)>(
            new CommandDefinition("""
                select rows_read, applied, superseded, unchanged, stale, parked, rejected, verified
                from perazzi_sync.pos_imports where id = @ImportId
                """, new { ImportId = importId }, cancellationToken: cancellationToken));
        var rejections = (await connection.QueryAsync<PosRejection>(new CommandDefinition($"""
            select line as "Line", source_record_id as "SourceRecordId", reason as "Reason"
            from perazzi_sync.pos_import_rejections where import_id = @ImportId order by line limit {RejectionsShown}
            """, new { ImportId = importId }, cancellationToken: cancellationToken))).AsList();
        return new PosImportOutcome(importId, fileName, alreadyImported, totals.RowsRead, totals.Applied, totals.Superseded,
            totals.Unchanged, totals.Stale, totals.Parked, totals.Rejected, totals.Verified, rejections, elapsed);
    }

    static async Task<string> HashAsync(string path, bool namedByOperator, CancellationToken cancellationToken)
    {
        await using var file = ExportFile.OpenRead(path, namedByOperator);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
    }
}
