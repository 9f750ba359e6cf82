using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Pos.Rows;

/// <summary>What one write did, counted per record.</summary>
public sealed record WriteCounts(long Applied, long Unchanged, long Stale, long Parked)
{
    public static readonly WriteCounts None = new(0, 0, 0, 0);

    public WriteCounts Add(WriteCounts other) =>
        new(Applied + other.Applied, Unchanged + other.Unchanged, Stale + other.Stale, Parked + other.Parked);

    /// <summary>The outcome of a write of one record.</summary>
    public SyncOutcome Outcome =>
        Applied > 0 ? SyncOutcome.Applied : Parked > 0 ? SyncOutcome.Parked : Stale > 0 ? SyncOutcome.Stale : SyncOutcome.Unchanged;
}

/// <summary>
/// A record to write, with where it came from for the audit trail: the line of an export, or the
/// message of a callback written in a group with others (<see cref="Message"/>).
/// </summary>
public sealed record RecordToWrite(PosServiceRecord Record, long? Line, MessageOrigin? Message = null);

/// <summary>
/// The message a record came in, named by its own audit rows (and by its parked event) when it is
/// written in one statement with the records of other messages.
/// </summary>
public sealed record MessageOrigin(string? MessageId, string? DeliveryId, string? TraceId);

/// <summary>
/// Where POS records become <c>service_events</c> rows: set-based, one binary COPY and one
/// statement per batch, inside the caller's transaction as the service role
/// (<see cref="ServiceRole"/>). The database decides what changed and writes the audit rows.
/// </summary>
/// <remarks>
/// The order of versions is the record's <c>updated_at</c>, then, between equal times, the digest
/// of its payload: every writer compares the same way, so whatever order redeliveries, replays,
/// imports and callbacks arrive in, the same version ends up stored (docs/sync-rules.md).
/// </remarks>
public static class ServiceEventRows
{
    public const string SourceSystem = "perazzi_pos";

    /// <summary>
    /// A writer inserting a record meets a row another transaction inserted since this statement
    /// began; the next statement sees it and decides against it. Two rounds settle any record; a
    /// third would mean the row keeps vanishing and reappearing.
    /// </summary>
    const int MaxRounds = 3;

    /// <summary>
    /// Upserts on (source_system, source_record_id) the records whose serial matches a verified
    /// asset, newer versions only; parks the others with their reason. At most one record per
    /// source_record_id per call. The audit rows carry <paramref name="audit"/> and each record's
    /// line or message.
    /// </summary>
    public static Task<WriteCounts> WriteAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, string? messageId,
        CancellationToken cancellationToken) =>
        WriteAsync(transaction, records, audit, messageId, null, cancellationToken);

    /// <summary>
    /// <see cref="WriteAsync(NpgsqlTransaction, IReadOnlyCollection{RecordToWrite}, AuditContext, string?, CancellationToken)"/>,
    /// telling what became of each record, by its source_record_id.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, SyncOutcome>> WriteEachAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, SyncOutcome>(records.Count, StringComparer.Ordinal);
        await WriteAsync(transaction, records, audit, null, outcomes, cancellationToken);
        return outcomes;
    }

    static async Task<WriteCounts> WriteAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, string? messageId,
        Dictionary<string, SyncOutcome>? outcomes, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var keys = records.Where(r => r.Line is not null || r.Message is not null)
            .Select(r => KeyValuePair.Create(r.Record.SourceRecordId, AuditFields(r)));
        // A group of callbacks writes two versions of one record in two statements of one
        // transaction, so the second finds the first's table, which only the commit drops.
        await connection.ExecuteAsync(new CommandDefinition("""
            select set_config('perazzi_sync.audit', @Audit, true);
            drop table if exists pos_incoming;
            create temp table pos_incoming (
              line bigint,
              source_record_id text not null,
              serial_number text not null,
              status text not null,
              service_date timestamptz,
              work_summary text,
              attachments text[] not null,
              updated_at timestamptz not null,
              raw_payload jsonb not null,
              message_id text
            ) on commit drop;
            """, new { Audit = audit.WithKeys(keys).ToJson() }, transaction, cancellationToken: cancellationToken));

        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy pos_incoming (line, source_record_id, serial_number, status, service_date, work_summary, attachments, updated_at, raw_payload, message_id) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var (record, line, message) in records)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(line, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(record.SourceRecordId, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.SerialNumber, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.Status, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.ServiceDate?.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(record.WorkSummary, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.Attachments as string[] ?? [.. record.Attachments], NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.UpdatedAt.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(record.RawPayload, NpgsqlDbType.Jsonb, cancellationToken);
                await copy.WriteAsync(message?.MessageId, NpgsqlDbType.Text, cancellationToken);
            }
            await copy.CompleteAsync(cancellationToken);
        }
        // Without statistics the planner takes the fresh temp table for a few rows and joins the
        // CTEs below by nested loops, which is quadratic in the chunk size.
        await connection.ExecuteAsync(new CommandDefinition("analyze pos_incoming", transaction: transaction, cancellationToken: cancellationToken));

        foreach (var record in outcomes is null ? [] : records)
        {
            outcomes![record.Record.SourceRecordId] = SyncOutcome.Applied;
        }
        var total = WriteCounts.None;
        for (var round = 1; ; round++)
        {
            // A chunk of thousands of rows may take longer than the default 30 s on a busy database;
            // cancellation, not a timeout, is what stops it.
            var outcome = await connection.QuerySingleAsync<Outcome>(new CommandDefinition(
                "with " + Apply, new { MessageId = messageId }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
            total = total.Add(outcome.Counts);
            outcome.Tell(outcomes);
            if (outcome.Raced.Length == 0)
            {
                return total;
            }
            EnsureSettles(round, outcome.Raced);
            await connection.ExecuteAsync(new CommandDefinition(
                "delete from pos_incoming where source_record_id <> all(@Raced)", new { outcome.Raced }, transaction, cancellationToken: cancellationToken));
        }
    }

    /// <summary>What a record's own audit rows add to the transaction's context.</summary>
    static JsonObject AuditFields(RecordToWrite record)
    {
        var fields = new JsonObject();
        if (record.Line is { } line)
        {
            fields["line"] = line;
        }
        if (record.Message is { } message)
        {
            fields["message_id"] = message.MessageId;
            fields["delivery_id"] = message.DeliveryId;
            fields["trace_id"] = message.TraceId;
        }
        return fields;
    }

    /// <summary>
    /// <see cref="WriteAsync"/> for one record, as a callback brings it: the same statement, its
    /// input a row of parameters instead of a temp table, in one round trip.
    /// </summary>
    public static async Task<WriteCounts> WriteOneAsync(
        NpgsqlTransaction transaction, PosServiceRecord record, AuditContext audit, string? messageId, CancellationToken cancellationToken)
    {
        const string incoming = """
            select set_config('perazzi_sync.audit', @Audit, true);
            with pos_incoming as (
              select null::bigint as line, @Id::text as source_record_id, @Serial::text as serial_number, @Status::text as status,
                     @ServiceDate::timestamptz as service_date, @WorkSummary::text as work_summary,
                     @Attachments::text[] as attachments, @UpdatedAt::timestamptz as updated_at, @RawPayload::jsonb as raw_payload,
                     null::text as message_id
            ),
            """;
        var parameters = new
        {
            Audit = audit.ToJson(),
            Id = record.SourceRecordId,
            Serial = record.SerialNumber,
            record.Status,
            ServiceDate = record.ServiceDate?.UtcDateTime,
            record.WorkSummary,
            Attachments = record.Attachments as string[] ?? [.. record.Attachments],
            UpdatedAt = record.UpdatedAt.UtcDateTime,
            record.RawPayload,
            MessageId = messageId,
        };
        var total = WriteCounts.None;
        for (var round = 1; ; round++)
        {
            await using var results = await transaction.Connection!.QueryMultipleAsync(new CommandDefinition(
                incoming + Apply, parameters, transaction, cancellationToken: cancellationToken));
            await results.ReadAsync();
            var outcome = await results.ReadSingleAsync<Outcome>();
            total = total.Add(outcome.Counts);
            if (outcome.Raced.Length == 0)
            {
                return total;
            }
            EnsureSettles(round, outcome.Raced);
        }
    }

    static void EnsureSettles(int round, string[] raced)
    {
        if (round == MaxRounds)
        {
            throw new InvalidOperationException(
                $"{raced.Length} POS record(s) kept meeting concurrent writes after {MaxRounds} rounds, e.g. {raced[0]}");
        }
    }

    sealed class Outcome
    {
        public long Applied { get; init; }

        public long Unchanged { get; init; }

        public long Stale { get; init; }

        public long Parked { get; init; }

        /// <summary>Records to write again, in a statement that sees the rows other writers inserted.</summary>
        public string[] Raced { get; init; } = [];

        /// <summary>The records not applied, by what became of them: a few, where most records are applied.</summary>
        public string[] UnchangedKeys { get; init; } = [];

        public string[] StaleKeys { get; init; } = [];

        public string[] ParkedKeys { get; init; } = [];

        public WriteCounts Counts => new(Applied, Unchanged, Stale, Parked);

        /// <summary>
        /// Sets in <paramref name="outcomes"/>, which holds every record as applied, those this
        /// round did not apply; a raced record is written again by the next round, which tells.
        /// </summary>
        public void Tell(Dictionary<string, SyncOutcome>? outcomes)
        {
            if (outcomes is null)
            {
                return;
            }
            foreach (var (keys, outcome) in new[] { (UnchangedKeys, SyncOutcome.Unchanged), (StaleKeys, SyncOutcome.Stale), (ParkedKeys, SyncOutcome.Parked) })
            {
                foreach (var key in keys)
                {
                    outcomes[key] = outcome;
                }
            }
        }
    }

    /// <summary>
    /// The write itself, after <c>with</c>: reads <c>pos_incoming</c>, decides each verified record
    /// against its stored row (locked, in key order so concurrent writers never deadlock), inserts
    /// the new ones, updates the newer ones (an update that changes nothing is skipped by the
    /// database), parks the rest and resolves what was parked before. A record that was new when
    /// the statement began but whose row another writer inserted meanwhile is returned in
    /// <c>Raced</c> and written by the caller's next round, which sees that row: no write ever
    /// replaces a version it has not compared with.
    /// </summary>
    const string Apply = """
            matched as (
              select i.line, i.source_record_id, i.serial_number, i.status, i.service_date, i.work_summary,
                     to_jsonb(i.attachments) as attachments, i.updated_at, i.raw_payload, md5(i.raw_payload::text) as digest,
                     i.message_id, a.id as asset_id, a.owner_user_id, a.verification_status
              from pos_incoming i
              left join perazzi_assets a on a.serial_number = upper(btrim(i.serial_number))
            ), old as (
              -- The stored rows of the incoming records, found from pos_incoming and its statistics:
              -- a filtered CTE is estimated at one row, against which the planner would scan every
              -- stored POS row. Those of records that are parked below are locked and left alone.
              select e.id, e.source_record_id, e.source_modified_at, md5(e.raw_payload::text) as digest
              from pos_incoming i
              join service_events e on e.source_system = 'perazzi_pos' and e.source_record_id = i.source_record_id
              order by e.source_record_id
              for update of e
            ), decided as (
              select m.source_record_id, o.id as old_id,
                     case
                       when o.id is null then 'insert'
                       when (coalesce(o.source_modified_at, '-infinity'), o.digest) > (m.updated_at, m.digest) then 'stale'
                       else 'update'
                     end as decision,
                     -- The version stored once this record is written (or found older): parked
                     -- versions up to it are done.
                     case when (m.updated_at, m.digest) >= (coalesce(o.source_modified_at, '-infinity'), o.digest) or o.id is null
                          then m.updated_at else o.source_modified_at end as kept_version,
                     case when (m.updated_at, m.digest) >= (coalesce(o.source_modified_at, '-infinity'), o.digest) or o.id is null
                          then m.digest else o.digest end as kept_digest
              from matched m left join old o using (source_record_id)
              where m.verification_status = 'verified'
            ), inserted as (
              insert into service_events as t
                (asset_id, owner_user_id, source_system, source_record_id, status, service_date, work_summary,
                 attachments, raw_payload, source_modified_at)
              select m.asset_id, m.owner_user_id, 'perazzi_pos', m.source_record_id, m.status, m.service_date,
                     m.work_summary, m.attachments, m.raw_payload, m.updated_at
              from matched m join decided d using (source_record_id)
              where d.decision = 'insert'
              order by m.source_record_id
              on conflict on constraint service_events_source_unique do nothing
              returning t.source_record_id
            ), updated as (
              update service_events t set
                asset_id = m.asset_id,
                owner_user_id = m.owner_user_id,
                status = m.status,
                service_date = m.service_date,
                work_summary = m.work_summary,
                attachments = m.attachments,
                raw_payload = m.raw_payload,
                source_modified_at = m.updated_at
              from matched m join decided d using (source_record_id)
              where d.decision = 'update' and t.id = d.old_id
                -- The guard once more on the row being replaced, whatever happened since the decision.
                and (coalesce(t.source_modified_at, '-infinity'), md5(t.raw_payload::text)) <= (m.updated_at, m.digest)
              returning t.source_record_id
            ), parked as (
              select perazzi_sync.park('perazzi_pos', m.source_record_id,
                       case when m.asset_id is null then 'unknown_serial' else 'asset_not_verified' end,
                       'PosServiceRecord',
                       -- The record as a PosServiceRecord, which the re-match deserialises.
                       jsonb_build_object(
                         'SourceRecordId', m.source_record_id, 'SerialNumber', m.serial_number, 'Status', m.status,
                         'ServiceDate', m.service_date, 'WorkSummary', m.work_summary, 'Attachments', m.attachments,
                         'UpdatedAt', m.updated_at, 'RawPayload', m.raw_payload::text),
                       coalesce(m.message_id, @MessageId), m.updated_at, m.digest)
              from matched m
              where m.verification_status is distinct from 'verified'
            ), resolved as (
              select perazzi_sync.resolve_parked('perazzi_pos', d.source_record_id, d.kept_version, d.kept_digest) as done
              from decided d
              where d.decision <> 'insert' or d.source_record_id in (select source_record_id from inserted)
            )
            select (select count(*) from inserted) + (select count(*) from updated) as "Applied",
                   (select count(*) from decided where decision = 'update' and source_record_id not in (select source_record_id from updated)) as "Unchanged",
                   (select count(*) from decided where decision = 'stale') as "Stale",
                   (select count(*) from parked) as "Parked",
                   -- Selected so that the parked events are resolved: a CTE nothing reads is not run.
                   (select count(*) from resolved where done) as "Resolved",
                   array(select source_record_id from decided where decision = 'insert'
                         and source_record_id not in (select source_record_id from inserted)) as "Raced",
                   array(select source_record_id from decided where decision = 'update'
                         and source_record_id not in (select source_record_id from updated)) as "UnchangedKeys",
                   array(select source_record_id from decided where decision = 'stale') as "StaleKeys",
                   array(select source_record_id from matched where verification_status is distinct from 'verified') as "ParkedKeys"
            """;
}
