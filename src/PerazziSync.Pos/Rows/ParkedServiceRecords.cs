using System.Text.Json;
using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Pos.Rows;

/// <summary>A parked POS record, as a re-attempt reads it.</summary>
public sealed record ParkedRecord(Guid Id, string SourceKey, string Reason, int Attempts, PosServiceRecord Record);

/// <summary>
/// Parked POS records applied again: the ones whose serial now belongs to a verified asset are
/// attached, the ones of a claim are weighed as evidence (and attached if they verify it); the
/// others stay parked, one attempt more.
/// </summary>
public static class ParkedServiceRecords
{
    const int BatchSize = 1_000;

    /// <summary>
    /// Re-applies open parked POS records, oldest first, in batches of one transaction each.
    /// <paramref name="onlyAttributable"/> limits it to records that will attach now, or that are
    /// the first evidence on a claim registered after they were parked (the scheduled re-match); otherwise every record <paramref name="reason"/> and
    /// <paramref name="keys"/> select (null: any) is tried (an operator's <c>parked retry</c>).
    /// <paramref name="inSameTransaction"/>, when given, runs after each batch is written, in its
    /// transaction (an operator's audit rows). A batch waits for each answer of the database, and
    /// its session may sit idle in the batch's transaction, at most <paramref name="writeTimeout"/>.
    /// </summary>
    public static async Task<WriteCounts> ReattemptAsync(
        NpgsqlDataSource database, bool onlyAttributable, string? reason, IReadOnlyCollection<string>? keys,
        AuditContext audit, TimeSpan writeTimeout, CancellationToken cancellationToken,
        Func<NpgsqlTransaction, IReadOnlyList<ParkedRecord>, CancellationToken, Task>? inSameTransaction = null)
    {
        const string due = """
            select p.id, p.first_seen_at, p.source_key, p.reason, p.attempts, p.message::text, p.message_id
            from perazzi_sync.parked_events p
            where p.source_system = 'perazzi_pos' and p.resolved_at is null
              and (@AfterSeen::timestamptz is null or (p.first_seen_at, p.id) > (@AfterSeen, @AfterId))
              and (@Reason::text is null or p.reason = @Reason)
              and (@Keys::text[] is null or p.source_key = any(@Keys))
              and (not @OnlyAttributable or exists (
                select 1 from perazzi_assets a
                where a.serial_number = upper(btrim(p.message->>'SerialNumber'))
                  and (a.verification_status = 'verified'
                       -- A gun claimed after its records were parked: weighed once, then it waits
                       -- for a new record or a review.
                       or (a.verification_status in ('unverified', 'pending')
                           and not exists (select 1 from perazzi_sync.asset_claims c where c.asset_id = a.id)))))
            order by p.first_seen_at, p.id
            limit @BatchSize
            """;
        var total = WriteCounts.None;
        // A cursor, not a re-query: records that stay parked must not be picked again.
        DateTime? afterSeen = null;
        var afterId = Guid.Empty;
        while (true)
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await ServiceRole.BeginAsync(connection, audit, writeTimeout, cancellationToken);
            var rows = (await connection.QueryAsync<(Guid Id, DateTime FirstSeen, string Key, string Reason, int Attempts, string Message, string? MessageId)>(new CommandDefinition(due, new
            {
                AfterSeen = afterSeen,
                AfterId = afterId,
                Reason = reason,
                Keys = keys?.ToArray(),
                OnlyAttributable = onlyAttributable,
                BatchSize,
            }, transaction, cancellationToken: cancellationToken))).AsList();
            if (rows.Count == 0)
            {
                break;
            }
            var parked = rows
                .Select(r => new ParkedRecord(r.Id, r.Key, r.Reason, r.Attempts, JsonSerializer.Deserialize<PosServiceRecord>(r.Message)!))
                .ToList();
            // Each record with the message it came in: its audit rows (and an asset.verify it
            // brings) name that message, and parking it again keeps it.
            var counts = await ServiceEventRows.WriteAsync(
                transaction,
                parked.Zip(rows, (p, r) => new RecordToWrite(p.Record, null, r.MessageId is null ? null : new MessageOrigin(r.MessageId, null, null))).ToList(),
                audit, null, (int)Math.Ceiling(writeTimeout.TotalSeconds), cancellationToken);
            if (inSameTransaction is not null)
            {
                await inSameTransaction(transaction, parked, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            total = total.Add(counts);
            (afterSeen, afterId) = (DateTime.SpecifyKind(rows[^1].FirstSeen, DateTimeKind.Utc), rows[^1].Id);
            if (rows.Count < BatchSize)
            {
                break;
            }
        }
        return total;
    }
}
