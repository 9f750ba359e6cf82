using Dapper;
using Npgsql;
using NpgsqlTypes;
using PerazziSync.Contracts;

namespace PerazziSync.Pos;

/// <summary>What one write did, counted per record.</summary>
public sealed record WriteCounts(long Applied, long Unchanged, long Stale, long Parked)
{
    public static readonly WriteCounts None = new(0, 0, 0, 0);

    public WriteCounts Add(WriteCounts other) =>
        new(Applied + other.Applied, Unchanged + other.Unchanged, Stale + other.Stale, Parked + other.Parked);
}

/// <summary>A record to write, with where it came from for the audit trail.</summary>
public sealed record RecordToWrite(PosServiceRecord Record, long? Line);

/// <summary>
/// Where POS records become <c>service_events</c> rows: set-based, one binary COPY and one
/// statement per batch, inside the caller's transaction, as the service role.
/// </summary>
public static class ServiceEventWriter
{
    public const string SourceSystem = "perazzi_pos";

    /// <summary>
    /// Upserts on (source_system, source_record_id) the records whose serial matches a verified
    /// asset, newer versions only, with one audit row per inserted or changed row; parks the
    /// others with their reason. At most one record per source_record_id per call.
    /// </summary>
    public static async Task<WriteCounts> WriteAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, string auditMetadata, string? messageId,
        CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        await connection.ExecuteAsync(new CommandDefinition("""
            set local role service_role;
            create temp table pos_incoming (
              line bigint,
              source_record_id text not null,
              serial_number text not null,
              status text not null,
              service_date timestamptz,
              work_summary text,
              attachments text[] not null,
              updated_at timestamptz not null,
              raw_payload jsonb not null
            ) on commit drop;
            """, transaction: transaction, cancellationToken: cancellationToken));

        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy pos_incoming (line, source_record_id, serial_number, status, service_date, work_summary, attachments, updated_at, raw_payload) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var (record, line) in records)
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
            }
            await copy.CompleteAsync(cancellationToken);
        }
        // Without statistics the planner takes the fresh temp table for a few rows and joins the
        // CTEs below by nested loops, which is quadratic in the chunk size.
        await connection.ExecuteAsync(new CommandDefinition("analyze pos_incoming", transaction: transaction, cancellationToken: cancellationToken));

        // A chunk of thousands of rows may take longer than the default 30 s on a busy database;
        // cancellation, not a timeout, is what stops it.
        return await connection.QuerySingleAsync<WriteCounts>(new CommandDefinition(
            "with " + Apply, new { Metadata = auditMetadata, MessageId = messageId }, transaction, commandTimeout: 0, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// <see cref="WriteAsync"/> for one record, as a callback brings it: the same statement, its
    /// input a row of parameters instead of a temp table, in one round trip. It first takes the
    /// work order's transaction lock, so that two versions of one record never race; the write's
    /// snapshot is taken after the lock is granted.
    /// </summary>
    public static async Task<WriteCounts> WriteOneAsync(
        NpgsqlTransaction transaction, PosServiceRecord record, string auditMetadata, string? messageId, CancellationToken cancellationToken)
    {
        const string incoming = """
            select pg_advisory_xact_lock(hashtextextended('pos:' || @Id, 0));
            set local role service_role;
            with pos_incoming as (
              select null::bigint as line, @Id::text as source_record_id, @Serial::text as serial_number, @Status::text as status,
                     @ServiceDate::timestamptz as service_date, @WorkSummary::text as work_summary,
                     @Attachments::text[] as attachments, @UpdatedAt::timestamptz as updated_at, @RawPayload::jsonb as raw_payload
            ),
            """;
        await using var results = await transaction.Connection!.QueryMultipleAsync(new CommandDefinition(incoming + Apply, new
        {
            Id = record.SourceRecordId,
            Serial = record.SerialNumber,
            record.Status,
            ServiceDate = record.ServiceDate?.UtcDateTime,
            record.WorkSummary,
            Attachments = record.Attachments as string[] ?? [.. record.Attachments],
            UpdatedAt = record.UpdatedAt.UtcDateTime,
            record.RawPayload,
            Metadata = auditMetadata,
            MessageId = messageId,
        }, transaction, cancellationToken: cancellationToken));
        await results.ReadAsync();
        return await results.ReadSingleAsync<WriteCounts>();
    }

    /// <summary>
    /// The write itself, after <c>with</c>: reads <c>pos_incoming</c>, upserts the verified, audits
    /// the changes, parks the rest and resolves what was parked before.
    /// </summary>
    const string Apply = """
            matched as (
              select i.line, i.source_record_id, i.serial_number, i.status, i.service_date, i.work_summary,
                     to_jsonb(i.attachments) as attachments, i.updated_at, i.raw_payload,
                     a.id as asset_id, a.owner_user_id, a.verification_status
              from pos_incoming i
              left join perazzi_assets a on a.serial_number = upper(btrim(i.serial_number))
            ), old as (
              select e.* from service_events e
              join matched m on e.source_system = 'perazzi_pos' and e.source_record_id = m.source_record_id
              for update of e
            ), diff as (
              select m.source_record_id,
                     coalesce(o.source_modified_at > m.updated_at, false) as stale,
                     array_remove(array[
                       case when o.id is null then 'source_record_id' end,
                       case when o.asset_id is distinct from m.asset_id then 'asset_id' end,
                       case when o.owner_user_id is distinct from m.owner_user_id then 'owner_user_id' end,
                       case when o.status is distinct from m.status then 'status' end,
                       case when o.service_date is distinct from m.service_date then 'service_date' end,
                       case when o.work_summary is distinct from m.work_summary then 'work_summary' end,
                       case when o.attachments is distinct from m.attachments then 'attachments' end,
                       case when o.raw_payload is distinct from m.raw_payload then 'raw_payload' end,
                       case when o.source_modified_at is distinct from m.updated_at then 'source_modified_at' end
                     ], null) as changed
              from matched m left join old o using (source_record_id)
              where m.verification_status = 'verified'
            ), up as (
              insert into service_events as t
                (asset_id, owner_user_id, source_system, source_record_id, status, service_date, work_summary,
                 attachments, raw_payload, source_modified_at)
              select m.asset_id, m.owner_user_id, 'perazzi_pos', m.source_record_id, m.status, m.service_date,
                     m.work_summary, m.attachments, m.raw_payload, m.updated_at
              from matched m join diff d using (source_record_id)
              where not d.stale and cardinality(d.changed) > 0
              on conflict on constraint service_events_source_unique do update set
                asset_id = excluded.asset_id,
                owner_user_id = excluded.owner_user_id,
                status = excluded.status,
                service_date = excluded.service_date,
                work_summary = excluded.work_summary,
                attachments = excluded.attachments,
                raw_payload = excluded.raw_payload,
                source_modified_at = excluded.source_modified_at
              returning t.id, t.source_record_id, (t.xmax = 0) as inserted
            ), audit as (
              insert into audit_log (actor_role, action, object_type, object_id, metadata)
              select 'service_role', 'service_event.upsert', 'service_event', up.id::text,
                     @Metadata::jsonb || jsonb_build_object(
                       'source_key', up.source_record_id,
                       'line', m.line,
                       'operation', case when up.inserted then 'insert' else 'update' end,
                       'changed_fields', to_jsonb(d.changed))
              from up join diff d using (source_record_id) join matched m using (source_record_id)
            ), parked as (
              insert into perazzi_sync.parked_events as p (source_system, source_key, reason, message_type, message, message_id)
              select 'perazzi_pos', m.source_record_id,
                     case when m.asset_id is null then 'unknown_serial' else 'asset_not_verified' end,
                     'PosServiceRecord',
                     -- The record as a PosServiceRecord, which the re-match deserialises.
                     jsonb_build_object(
                       'SourceRecordId', m.source_record_id, 'SerialNumber', m.serial_number, 'Status', m.status,
                       'ServiceDate', m.service_date, 'WorkSummary', m.work_summary, 'Attachments', m.attachments,
                       'UpdatedAt', m.updated_at, 'RawPayload', m.raw_payload::text),
                     @MessageId
              from matched m
              where m.verification_status is distinct from 'verified'
              on conflict on constraint parked_events_source_unique do update set
                reason = excluded.reason,
                message = excluded.message,
                message_id = excluded.message_id,
                attempts = p.attempts + 1,
                last_seen_at = now(),
                resolved_at = null
              -- An older version never replaces the parked newer one.
              where (p.message->>'UpdatedAt')::timestamptz <= (excluded.message->>'UpdatedAt')::timestamptz
              returning p.source_key
            ), resolved as (
              update perazzi_sync.parked_events p set resolved_at = now(), last_seen_at = now()
              from diff d
              where p.source_system = 'perazzi_pos' and p.source_key = d.source_record_id and p.resolved_at is null
                and not d.stale
              returning p.source_key
            )
            select (select count(*) from up) as "Applied",
                   (select count(*) from diff where not stale and cardinality(changed) = 0) as "Unchanged",
                   (select count(*) from diff where stale) as "Stale",
                   (select count(*) from matched where verification_status is distinct from 'verified') as "Parked"
            """;
}
