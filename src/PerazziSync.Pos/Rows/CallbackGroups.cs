using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Pos.Rows;

/// <summary>A POS callback to write in a group with others: its record and the message it came in.</summary>
public sealed record PosCallback(PosServiceRecord Record, MessageOrigin Message);

/// <summary>
/// What became of a callback's record; <see cref="Attached"/>, when its record verified the claim
/// on its serial: the parked records the group's write attached to that gun.
/// </summary>
public sealed record CallbackWritten(SyncOutcome Outcome, long? Attached = null);

/// <summary>
/// POS callbacks of many messages written in one transaction by the set-based statement of the
/// imports (<see cref="ServiceEventRows"/>), each record audited under its own message, and how
/// the failure of a group becomes the failure of the messages that caused it and of no other
/// (docs/failures.md, "Group commits").
/// </summary>
public static class CallbackGroups
{
    /// <summary>
    /// How long a group waits for a row another writer holds (an import chunk, a re-match) before
    /// it gives up with a lock timeout, which is transient: its messages are retried, while the
    /// callbacks behind them do not wait longer than this.
    /// </summary>
    const string LockTimeout = "10s";

    /// <summary>
    /// The statements a group is written in (and an import's chunk, whose lines of one record at
    /// the same version are all written): a source key at most once per statement, as the
    /// statement requires. Two versions of one record in a group are written one after the other
    /// in the same transaction, the newest first, so the older ones are found stale, exactly as
    /// if their messages had come one by one; the rest of the group goes in the first statement.
    /// </summary>
    public static List<List<T>> Statements<T>(IReadOnlyList<T> items, Func<T, PosServiceRecord> record)
    {
        var statements = new List<List<T>>();
        var versions = items
            .Select((item, index) => (Item: item, Index: index, Record: record(item)))
            .GroupBy(i => i.Record.SourceRecordId, StringComparer.Ordinal);
        foreach (var key in versions)
        {
            var newestFirst = key.OrderByDescending(i => i.Record.UpdatedAt).ThenBy(i => i.Index).ToList();
            for (var i = 0; i < newestFirst.Count; i++)
            {
                if (statements.Count == i)
                {
                    statements.Add([]);
                }
                statements[i].Add(newestFirst[i].Item);
            }
        }
        return statements;
    }

    /// <summary>
    /// Gives each of <paramref name="items"/> its own result or its own exception. The group is
    /// written at once; if that fails for good (a value PostgreSQL refuses, say), the fault is
    /// one of its records': each half is written again on its own, down to the single record at
    /// fault, which alone gets the exception while its neighbours are written. A transient fault
    /// (the database unreachable, a lock timeout, a serialization failure) is nobody's record:
    /// every item of the part being written gets it, and is retried whole.
    /// </summary>
    public static async Task SettleAsync<T, TResult>(
        IReadOnlyList<T> items,
        Func<IReadOnlyList<T>, Task<IReadOnlyList<TResult>>> write,
        Func<Exception, bool> isTransient,
        Action<T, TResult> written,
        Action<T, Exception> failed)
    {
        IReadOnlyList<TResult> results;
        try
        {
            results = await write(items);
        }
        catch (Exception e) when (items.Count > 1 && e is not OperationCanceledException && !isTransient(e))
        {
            var half = items.Count / 2;
            await SettleAsync([.. items.Take(half)], write, isTransient, written, failed);
            await SettleAsync([.. items.Skip(half)], write, isTransient, written, failed);
            return;
        }
        catch (Exception e)
        {
            foreach (var item in items)
            {
                failed(item, e);
            }
            return;
        }
        for (var i = 0; i < items.Count; i++)
        {
            written(items[i], results[i]);
        }
    }

    /// <summary>
    /// Writes <paramref name="callbacks"/> in one transaction as the service role and returns
    /// what became of each, in order. Every audit row names the message, delivery and trace of
    /// its own callback. A claim the group verified is told to the first callback of its serial.
    /// Each of its statements waits for the database's answer as long as the command timeout of
    /// <paramref name="database"/>'s connections, and PostgreSQL ends the session if it sits idle
    /// inside the transaction that long: a connection that stops answering mid-write fails the
    /// group as a transient fault instead of holding its messages for ever, and the rows its
    /// transaction locked are released for the retry.
    /// </summary>
    public static async Task<IReadOnlyList<CallbackWritten>> WriteAsync(
        NpgsqlDataSource database, IReadOnlyList<PosCallback> callbacks, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var seconds = connection.CommandTimeout;
        await using var transaction = await ServiceRole.BeginAsync(connection, null, TimeSpan.FromSeconds(seconds), cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"set local lock_timeout = '{LockTimeout}'", transaction: transaction, cancellationToken: cancellationToken));
        var audit = AuditContext.For(ServiceEventRows.SourceSystem);
        var outcomes = new Dictionary<PosCallback, SyncOutcome>(callbacks.Count, ReferenceEqualityComparer.Instance);
        var verifiedSerials = new HashSet<string>(StringComparer.Ordinal);
        var attached = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var statement in Statements(callbacks, c => c.Record))
        {
            var written = await ServiceEventRows.WriteEachAsync(
                transaction, [.. statement.Select(c => new RecordToWrite(c.Record, null, c.Message))], audit, seconds, cancellationToken);
            foreach (var callback in statement)
            {
                outcomes[callback] = written.Outcomes[callback.Record.SourceRecordId];
            }
            verifiedSerials.UnionWith(written.VerifiedSerials);
            foreach (var (serial, records) in written.AttachedBySerial)
            {
                attached[serial] = attached.GetValueOrDefault(serial) + records;
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return [.. callbacks.Select(c => StoredSerial(c.Record.SerialNumber) is var serial && verifiedSerials.Remove(serial)
            ? new CallbackWritten(outcomes[c], attached.GetValueOrDefault(serial))
            : new CallbackWritten(outcomes[c]))];
    }

    /// <summary>A serial as <c>perazzi_assets</c> stores it and the statement matches it: <c>upper(btrim(serial))</c>.</summary>
    static string StoredSerial(string serial) => serial.Trim(' ').ToUpperInvariant();
}
