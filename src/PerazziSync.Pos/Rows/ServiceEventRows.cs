using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using NpgsqlTypes;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Pos.Rows;

/// <summary>
/// What one write did, counted per record; and for the claims it weighed, the assets it verified,
/// the claims it left open for review and the parked records of the verified assets it attached.
/// </summary>
public sealed record WriteCounts(long Applied, long Unchanged, long Stale, long Parked, long Verified = 0, long Reviewed = 0, long Attached = 0)
{
    public static readonly WriteCounts None = new(0, 0, 0, 0);

    public WriteCounts Add(WriteCounts other) =>
        new(Applied + other.Applied, Unchanged + other.Unchanged, Stale + other.Stale, Parked + other.Parked,
            Verified + other.Verified, Reviewed + other.Reviewed, Attached + other.Attached);

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
/// What a write did to each of its records (by source_record_id), in all, the serials of the
/// claimed assets it verified (as <c>perazzi_assets</c> stores them), and how many parked records
/// it attached to each of those guns (by the same serial).
/// </summary>
public sealed record EachWritten(
    IReadOnlyDictionary<string, SyncOutcome> Outcomes, WriteCounts Counts, IReadOnlyList<string> VerifiedSerials,
    IReadOnlyDictionary<string, long> AttachedBySerial);

/// <summary>
/// The message a record came in, named by its own audit rows (and by its parked event) when it is
/// written in one statement with the records of other messages.
/// </summary>
public sealed record MessageOrigin(string? MessageId, string? DeliveryId, string? TraceId);

/// <summary>
/// Where POS records become <c>service_events</c> rows: set-based, one binary COPY and one
/// statement per batch, inside the caller's transaction as the service role
/// (<see cref="ServiceRole"/>). The database decides what changed and writes the audit rows.
/// Before the records are written, the claims on their serials are weighed in the same
/// transaction (<see cref="LockClaims"/>, <see cref="DecideClaims"/>): a record naming the
/// claimant's confirmed e-mail verifies the asset, so the statement then attaches the record.
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
    /// The records of a write, as <see cref="Apply"/> reads them: a temp table the session keeps,
    /// emptied by every commit. Created once per connection, not per write: a table created and
    /// dropped in every transaction writes and deletes a score of catalog rows each time, which on
    /// the portal's shared database is bloat for its autovacuum to clear.
    /// </summary>
    const string IncomingTable = """
        pos_incoming (
          line bigint,
          source_record_id text not null,
          serial_number text not null,
          status text not null,
          service_date timestamptz,
          work_summary text,
          attachments text[] not null,
          updated_at timestamptz not null,
          raw_payload jsonb not null,
          customer_email text,
          customer_name text,
          message_id text
        ) on commit delete rows;
        """;

    /// <summary>
    /// Upserts on (source_system, source_record_id) the records whose serial matches a verified
    /// asset, newer versions only; parks the others with their reason. At most one record per
    /// source_record_id per call. The audit rows carry <paramref name="audit"/> and each record's
    /// line or message. A claim the records verify brings the asset's parked records along, in
    /// the same transaction. <paramref name="commandTimeout"/>: how long, in seconds, its
    /// statements that may take long wait for their answer; 0 until cancelled.
    /// </summary>
    public static async Task<WriteCounts> WriteAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, string? messageId,
        int commandTimeout, CancellationToken cancellationToken) =>
        (await WriteAsync(transaction, records, audit, messageId, null, commandTimeout, cancellationToken)).Counts;

    /// <summary>
    /// <see cref="WriteAsync(NpgsqlTransaction, IReadOnlyCollection{RecordToWrite}, AuditContext, string?, int, CancellationToken)"/>,
    /// telling what became of each record, by its source_record_id, and which claims it verified.
    /// </summary>
    public static async Task<EachWritten> WriteEachAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, int commandTimeout,
        CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, SyncOutcome>(records.Count, StringComparer.Ordinal);
        var (counts, verifiedSerials, attached) = await WriteAsync(transaction, records, audit, null, outcomes, commandTimeout, cancellationToken);
        return new EachWritten(outcomes, counts, verifiedSerials, attached);
    }

    static async Task<(WriteCounts Counts, string[] VerifiedSerials, IReadOnlyDictionary<string, long> AttachedBySerial)> WriteAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<RecordToWrite> records, AuditContext audit, string? messageId,
        Dictionary<string, SyncOutcome>? outcomes, int commandTimeout, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var keys = records.Where(r => r.Line is not null || r.Message is not null)
            .Select(r => KeyValuePair.Create(r.Record.SourceRecordId, AuditFields(r)));
        // A group of callbacks writes two versions of one record in two statements of one
        // transaction, so the second finds the first's records, which only the commit clears.
        await connection.ExecuteAsync(new CommandDefinition(
            "select set_config('perazzi_sync.audit', @Audit, true); create temp table if not exists " + IncomingTable + "delete from pos_incoming;",
            new { Audit = audit.WithKeys(keys).ToJson() }, transaction, cancellationToken: cancellationToken));

        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy pos_incoming (line, source_record_id, serial_number, status, service_date, work_summary, attachments, updated_at, raw_payload, customer_email, customer_name, message_id) from stdin (format binary)",
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
                await copy.WriteAsync(record.CustomerEmail, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.CustomerName, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(message?.MessageId, NpgsqlDbType.Text, cancellationToken);
            }
            await copy.CompleteAsync(cancellationToken);
        }
        // Without statistics the planner takes the fresh temp table for a few rows and joins the
        // CTEs below by nested loops, which is quadratic in the chunk size.
        await connection.ExecuteAsync(new CommandDefinition("analyze pos_incoming", transaction: transaction, cancellationToken: cancellationToken));

        // Most chunks hold no record of a claimed serial, and weighing costs far more to plan than to
        // look for claims.
        var claims = Claims.None;
        if (await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "with " + LockClaims, transaction: transaction, commandTimeout: commandTimeout, cancellationToken: cancellationToken)) > 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                NameParkedEvidence, transaction: transaction, commandTimeout: commandTimeout, cancellationToken: cancellationToken));
            claims = await connection.QuerySingleAsync<Claims>(new CommandDefinition(
                "with " + DecideClaims, transaction: transaction, commandTimeout: commandTimeout, cancellationToken: cancellationToken));
        }
        foreach (var record in outcomes is null ? [] : records)
        {
            outcomes![record.Record.SourceRecordId] = SyncOutcome.Applied;
        }
        var total = await ApplyAsync(transaction, messageId, outcomes, commandTimeout, cancellationToken);
        var (counts, attached) = await AttachVerifiedAsync(transaction, claims, total, commandTimeout, cancellationToken);
        return (counts, claims.VerifiedSerials, attached);
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
            AddMessageFields(fields, message);
        }
        return fields;
    }

    /// <summary>
    /// What the audit rows of a record say of the message it came in, as far as it is known: a
    /// parked record applied later has only its message id.
    /// </summary>
    static JsonObject AddMessageFields(JsonObject fields, MessageOrigin message)
    {
        foreach (var (name, value) in new[] { ("message_id", message.MessageId), ("delivery_id", message.DeliveryId), ("trace_id", message.TraceId) })
        {
            if (value is not null)
            {
                fields[name] = value;
            }
        }
        return fields;
    }

    /// <summary>
    /// Runs <see cref="Apply"/> on <c>pos_incoming</c> until no record is left that another writer
    /// raced; sets in <paramref name="outcomes"/> (if given) what became of each record.
    /// </summary>
    static async Task<WriteCounts> ApplyAsync(
        NpgsqlTransaction transaction, string? messageId, Dictionary<string, SyncOutcome>? outcomes, int commandTimeout,
        CancellationToken cancellationToken)
    {
        var connection = transaction.Connection!;
        var total = WriteCounts.None;
        for (var round = 1; ; round++)
        {
            // A chunk of thousands of rows may take longer than the default 30 s on a busy database:
            // it waits as long as its batch write timeout, a group of callbacks as long as its write
            // timeout (Pos:BatchWriteTimeout, Pos:CallbackWriteTimeout).
            var outcome = await connection.QuerySingleAsync<Outcome>(new CommandDefinition(
                "with " + Apply, new { MessageId = messageId }, transaction, commandTimeout: commandTimeout, cancellationToken: cancellationToken));
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

    static async Task<(WriteCounts Counts, IReadOnlyDictionary<string, long> AttachedBySerial)> AttachVerifiedAsync(
        NpgsqlTransaction transaction, Claims claims, WriteCounts written, int commandTimeout, CancellationToken cancellationToken)
    {
        var attached = claims.VerifiedSerials.Length == 0
            ? new Dictionary<string, long>()
            : await AttachParkedBySerialAsync(transaction, claims.VerifiedSerials, commandTimeout, cancellationToken);
        return (written with { Verified = claims.Verified, Reviewed = claims.Reviewed, Attached = attached.Values.Sum() }, attached);
    }

    /// <summary>
    /// Attaches, in <paramref name="transaction"/>, the open parked records of <paramref name="serials"/>
    /// (as stored in <c>perazzi_assets</c>), whose assets it has just verified: the gun's history appears with its verification, not at
    /// the next re-match. Returns how many it attached (or found older than what is stored). The
    /// audit context is the transaction's. It stages the parked records in <c>pos_incoming</c>,
    /// in place of the records the transaction wrote there before, if any.
    /// </summary>
    public static async Task<long> AttachParkedAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<string> serials, CancellationToken cancellationToken) =>
        (await AttachParkedBySerialAsync(transaction, serials, 0, cancellationToken)).Values.Sum();

    /// <summary><see cref="AttachParkedAsync"/>, telling how many records each serial's gun got.</summary>
    static async Task<Dictionary<string, long>> AttachParkedBySerialAsync(
        NpgsqlTransaction transaction, IReadOnlyCollection<string> serials, int commandTimeout, CancellationToken cancellationToken)
    {
        const string parked = """
            delete from pos_incoming;
            with parked as (
              insert into pos_incoming (source_record_id, serial_number, status, service_date, work_summary, attachments, updated_at,
                                        raw_payload, customer_email, customer_name, message_id)
              select p.source_key, p.message->>'SerialNumber', p.message->>'Status', (p.message->>'ServiceDate')::timestamptz,
                     p.message->>'WorkSummary', array(select jsonb_array_elements_text(p.message->'Attachments')),
                     (p.message->>'UpdatedAt')::timestamptz, (p.message->>'RawPayload')::jsonb,
                     p.message->>'CustomerEmail', p.message->>'CustomerName', p.message_id
              from perazzi_sync.parked_events p
              where p.source_system = 'perazzi_pos' and p.resolved_at is null
                and upper(btrim(p.message->>'SerialNumber')) = any(@Serials)
              returning source_record_id, upper(btrim(serial_number)) as serial_number, message_id
            )
            select source_record_id, serial_number, message_id from parked
            """;
        var connection = transaction.Connection!;
        var records = (await connection.QueryAsync<(string Key, string Serial, string? MessageId)>(new CommandDefinition(
            "create temp table if not exists " + IncomingTable + parked,
            new { Serials = serials.ToArray() }, transaction, cancellationToken: cancellationToken))).ToList();
        // A gun verified by its first records has none parked: nothing more to write.
        if (records.Count == 0)
        {
            return [];
        }
        // Each record's audit rows name the message it came in, as the transaction's own records'
        // do: its entry added to the audit context's keys.
        var messages = new JsonObject();
        foreach (var (key, _, messageId) in records.Where(r => r.MessageId is not null))
        {
            messages[key] = AddMessageFields(new JsonObject(), new MessageOrigin(messageId, null, null));
        }
        await connection.ExecuteAsync(new CommandDefinition("""
            select set_config('perazzi_sync.audit', (context || jsonb_build_object('keys', coalesce(context -> 'keys', '{}') || @Messages::jsonb))::text, true)
            from (select coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb as context) c
            where @Messages::jsonb <> '{}';
            analyze pos_incoming;
            """, new { Messages = messages.ToJsonString() }, transaction, cancellationToken: cancellationToken));
        var outcomes = records.ToDictionary(r => r.Key, _ => SyncOutcome.Applied, StringComparer.Ordinal);
        await ApplyAsync(transaction, null, outcomes, commandTimeout, cancellationToken);
        // Attached, or found older than what is stored: every record but one parked again.
        return records.Where(r => outcomes[r.Key] != SyncOutcome.Parked)
            .GroupBy(r => r.Serial, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
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

    sealed class Claims
    {
        public static readonly Claims None = new();

        public long Verified { get; init; }

        public long Reviewed { get; init; }

        /// <summary>The serials of the assets verified, whose parked records are attached next.</summary>
        public string[] VerifiedSerials { get; init; } = [];
    }

    /// <summary>
    /// After <c>with</c>: locks the claims (assets <c>unverified</c> or <c>pending</c>) on the
    /// serials of <c>pos_incoming</c>, in key order so that concurrent writers never deadlock. A
    /// statement of its own: <see cref="DecideClaims"/>, the next one, then sees whatever evidence
    /// the writer that held a lock before committed.
    /// </summary>
    const string LockClaims = """
            claimed as (
              select a.id from perazzi_assets a
              where a.serial_number in (select upper(btrim(i.serial_number)) from pos_incoming i)
                and a.verification_status in ('unverified', 'pending')
              order by a.id
              for no key update of a
            )
            select count(*) from claimed
            """;

    /// <summary>
    /// Adds to the audit context's keys the message of each parked record of a claimed serial of
    /// <c>pos_incoming</c>, as <see cref="AddMessageFields"/> does for the records being written,
    /// which keep their own entries: the claim may rest on a parked record, and its
    /// <c>asset.verify</c> row then names the message that record came in, not the write's.
    /// </summary>
    const string NameParkedEvidence = """
            select set_config('perazzi_sync.audit',
                     (c.context || jsonb_build_object('keys', m.entries || coalesce(c.context -> 'keys', '{}')))::text, true)
            from (select coalesce(nullif(current_setting('perazzi_sync.audit', true), ''), '{}')::jsonb as context) c,
                 (select jsonb_object_agg(p.source_key, jsonb_build_object('message_id', p.message_id)) as entries
                  from perazzi_sync.parked_events p
                  where p.source_system = 'perazzi_pos' and p.resolved_at is null and p.message_id is not null
                    and upper(btrim(p.message->>'SerialNumber')) in (
                      select a.serial_number from perazzi_assets a
                      where a.serial_number in (select upper(btrim(i.serial_number)) from pos_incoming i)
                        and a.verification_status in ('unverified', 'pending'))) m
            where m.entries is not null
            """;

    /// <summary>
    /// After <c>with</c>: weighs each claim on a serial of <c>pos_incoming</c> (docs/sync-rules.md,
    /// "Claimed guns"). The evidence is the newest record of the serial that names the workshop's
    /// customer, among the newest version of every work order known: this batch, the parked
    /// records and the stored rows, so an older version replayed, or an old work order arriving
    /// late, never outweighs a newer one. When its e-mail is the claimant's confirmed auth e-mail
    /// and no other confirmed user's (<c>perazzi_sync.claimant_email_verdicts</c>, which returns no
    /// e-mail), the asset is verified by <c>pos_match</c>, still pending and still the same
    /// claimant's, and the database writes its <c>asset.verify</c> audit row; otherwise the claim
    /// is open for review with the reason. Verified and rejected assets are not claims: never touched.
    /// </summary>
    const string DecideClaims = """
            pending as (
              select a.id, a.serial_number, a.owner_user_id
              from perazzi_assets a
              where a.serial_number in (select upper(btrim(i.serial_number)) from pos_incoming i)
                and a.verification_status in ('unverified', 'pending')
            ), incoming as (
              select i.source_record_id, upper(btrim(i.serial_number)) as serial_number, i.updated_at as version,
                     md5(i.raw_payload::text) as digest, i.customer_email
              from pos_incoming i
              where upper(btrim(i.serial_number)) in (select serial_number from pending)
            ), versions as (
              select * from incoming
              union all
              select p.source_key, upper(btrim(p.message->>'SerialNumber')), p.source_version, p.digest, p.message->>'CustomerEmail'
              from perazzi_sync.parked_events p
              where p.source_system = 'perazzi_pos' and p.resolved_at is null
                and upper(btrim(p.message->>'SerialNumber')) in (select serial_number from pending)
              union all
              select p.source_key, upper(btrim(p.message->>'SerialNumber')), p.source_version, p.digest, p.message->>'CustomerEmail'
              from perazzi_sync.parked_events p
              where p.source_system = 'perazzi_pos' and p.resolved_at is null
                and p.source_key in (select source_record_id from incoming)
              union all
              -- The stored version of every work order above, parked ones included: a parked
              -- version older than the stored one (parked while a writer racing it stored the newer)
              -- is not the work order's current version. Each looked up by its key, not joined: the
              -- planner takes the few hundred keys for thousands, and a join planned on that read
              -- every stored POS row for each chunk, more with every chunk an import wrote.
              select e.source_record_id, a.serial_number, e.source_modified_at, md5(e.raw_payload::text), e.raw_payload->>'customer_email'
              from (select source_record_id as key from incoming
                    union
                    select p.source_key from perazzi_sync.parked_events p
                    where p.source_system = 'perazzi_pos' and p.resolved_at is null
                      and upper(btrim(p.message->>'SerialNumber')) in (select serial_number from pending)) k
              cross join lateral (
                select e.source_record_id, e.source_modified_at, e.raw_payload, e.asset_id
                from service_events e
                where e.source_system = 'perazzi_pos' and e.source_record_id = k.key
                -- One row by the unique key; the limit also keeps PostgreSQL from turning the
                -- lookup back into a join.
                limit 1
              ) e
              join perazzi_assets a on a.id = e.asset_id
            ), current_versions as (
              select distinct on (source_record_id) *
              from versions
              order by source_record_id, coalesce(version, '-infinity') desc, digest desc
            ), newest as (
              select distinct on (p.id) p.id as asset_id, c.source_record_id, c.version,
                     nullif(btrim(c.customer_email), '') as customer_email
              from pending p join current_versions c on c.serial_number = p.serial_number
              order by p.id, nullif(btrim(c.customer_email), '') is not null desc, coalesce(c.version, '-infinity') desc, c.digest desc
            ), asked as (
              select n.asset_id, p.owner_user_id, n.customer_email, row_number() over (order by n.asset_id)::integer as item
              from newest n join pending p on p.id = n.asset_id
              where n.customer_email is not null
            ), verdicts as (
              select a.asset_id, v.verdict
              from perazzi_sync.claimant_email_verdicts(
                     array(select owner_user_id from asked order by item),
                     array(select customer_email from asked order by item)) v
              join asked a on a.item = v.item
              where exists (select from asked)
            ), decided as (
              select p.id as asset_id, p.serial_number, p.owner_user_id, n.source_record_id, n.version,
                     coalesce(v.verdict, 'no_pos_identity') as verdict
              from pending p
              join newest n on n.asset_id = p.id
              left join verdicts v on v.asset_id = p.id
            ), verified as (
              update perazzi_assets a set verification_status = 'verified', verification_method = 'pos_match', verified_at = now()
              -- The matches as two arrays, each asset then found by its key. Joined to decided, whose
              -- size the planner overestimates a thousandfold, the update read every asset into a
              -- hash table for each chunk.
              from unnest(array(select d.asset_id from decided d where d.verdict = 'match' order by d.asset_id),
                          array(select d.owner_user_id from decided d where d.verdict = 'match' order by d.asset_id)) as d(asset_id, owner_user_id)
              where a.id = d.asset_id
                -- Once more on the row being changed: a claim still pending, still the same claimant's.
                and a.verification_status in ('unverified', 'pending') and a.owner_user_id = d.owner_user_id
              returning a.id, a.serial_number
            ), claims as (
              insert into perazzi_sync.asset_claims as c
                (asset_id, serial_number, claimant_user_id, status, reason, pos_source_record_id, pos_version, basis, decided_at, decided_by)
              select d.asset_id, d.serial_number, d.owner_user_id,
                     case when w.id is null then 'open' else 'verified' end,
                     case when w.id is null then d.verdict end,
                     d.source_record_id, d.version,
                     case when w.id is not null then 'pos_customer_email' end,
                     case when w.id is not null then now() end,
                     case when w.id is not null then 'pos_match' end
              from decided d left join verified w on w.id = d.asset_id
              where d.verdict <> 'match' or w.id is not null
              on conflict (asset_id) do update set
                serial_number = excluded.serial_number,
                claimant_user_id = excluded.claimant_user_id,
                status = excluded.status,
                reason = excluded.reason,
                pos_source_record_id = excluded.pos_source_record_id,
                pos_version = excluded.pos_version,
                basis = excluded.basis,
                decided_at = excluded.decided_at,
                decided_by = excluded.decided_by,
                note = null,
                opened_at = case when c.status = 'open' then c.opened_at else now() end,
                last_seen_at = now()
              returning c.status
            )
            select (select count(*) from verified) as "Verified",
                   (select count(*) from claims where status = 'open') as "Reviewed",
                   array(select serial_number from verified) as "VerifiedSerials"
            """;

    /// <summary>
    /// The write itself, after <c>with</c>: reads <c>pos_incoming</c>, decides each record against
    /// its stored row (locked, in key order so concurrent writers never deadlock), inserts the new
    /// ones of verified assets, updates the newer ones (an update that changes nothing is skipped by
    /// the database), finds the older ones stale whatever their serial, parks the other records of
    /// serials not verified and resolves what was parked before. A record that was new when
    /// the statement began but whose row another writer inserted meanwhile is returned in
    /// <c>Raced</c> and written by the caller's next round, which sees that row: no write ever
    /// replaces a version it has not compared with.
    /// </summary>
    const string Apply = """
            matched as (
              select i.line, i.source_record_id, i.serial_number, i.status, i.service_date, i.work_summary,
                     to_jsonb(i.attachments) as attachments, i.updated_at, i.raw_payload, md5(i.raw_payload::text) as digest,
                     i.customer_email, i.customer_name, i.message_id, a.id as asset_id, a.owner_user_id, a.verification_status
              from pos_incoming i
              left join perazzi_assets a on a.serial_number = upper(btrim(i.serial_number))
            ), old as (
              -- The stored rows of the incoming records, each looked up by its key and locked, in
              -- key order so that concurrent writers never deadlock. Not a join: the statistics of a
              -- table an import is filling lag far behind it, and a join planned on them scanned
              -- every stored POS row for each chunk. Those of records that are parked below are
              -- locked and left alone.
              select e.id, e.source_record_id, e.source_modified_at, e.digest
              from (select source_record_id from pos_incoming order by source_record_id) i
              cross join lateral (
                select e.id, e.source_record_id, e.source_modified_at, md5(e.raw_payload::text) as digest
                from service_events e
                where e.source_system = 'perazzi_pos' and e.source_record_id = i.source_record_id
                for update of e
              ) e
            ), decided as (
              -- Every record: a version older than the stored one is stale (and one equal to it
              -- unchanged) whatever its serial says now, so it is never parked, where it would weigh
              -- a claim on that serial as if it were the work order's current version.
              select m.source_record_id, o.id as old_id,
                     case
                       when (coalesce(o.source_modified_at, '-infinity'), o.digest) > (m.updated_at, m.digest) then 'stale'
                       when m.verification_status is distinct from 'verified' then
                         case when (coalesce(o.source_modified_at, '-infinity'), o.digest) = (m.updated_at, m.digest) then 'same' else 'park' end
                       when o.id is null then 'insert'
                       else 'update'
                     end as decision,
                     -- The version stored once this record is written (or found older): parked
                     -- versions up to it are done.
                     case when (m.updated_at, m.digest) >= (coalesce(o.source_modified_at, '-infinity'), o.digest) or o.id is null
                          then m.updated_at else o.source_modified_at end as kept_version,
                     case when (m.updated_at, m.digest) >= (coalesce(o.source_modified_at, '-infinity'), o.digest) or o.id is null
                          then m.digest else o.digest end as kept_digest
              from matched m left join old o using (source_record_id)
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
                         'UpdatedAt', m.updated_at, 'RawPayload', m.raw_payload::text,
                         'CustomerEmail', m.customer_email, 'CustomerName', m.customer_name),
                       coalesce(m.message_id, @MessageId), m.updated_at, m.digest)
              from matched m join decided d using (source_record_id)
              where d.decision = 'park'
              -- Parked events are locked in key order too: two writers parking the same unknown
              -- serials in their files' orders each waited for a row the other held. PostgreSQL
              -- calls the function after the sort.
              order by m.source_record_id
            ), resolved as (
              select perazzi_sync.resolve_parked('perazzi_pos', d.source_record_id, d.kept_version, d.kept_digest) as done
              from decided d
              where (d.decision not in ('insert', 'park') or d.source_record_id in (select source_record_id from inserted))
                -- Only the work orders with a parked version: a call for each record, nearly all of
                -- which have none, cost 60 ms of a statement of 5,000 new rows. One parked by a
                -- writer that commits after this statement began is left open, as it would be had
                -- it committed after this transaction.
                and exists (select from perazzi_sync.parked_events p
                            where p.source_system = 'perazzi_pos' and p.source_key = d.source_record_id and p.resolved_at is null)
              order by d.source_record_id
            )
            select (select count(*) from inserted) + (select count(*) from updated) as "Applied",
                   (select count(*) from decided where decision = 'same'
                      or decision = 'update' and source_record_id not in (select source_record_id from updated)) as "Unchanged",
                   (select count(*) from decided where decision = 'stale') as "Stale",
                   (select count(*) from parked) as "Parked",
                   -- Selected so that the parked events are resolved: a CTE nothing reads is not run.
                   (select count(*) from resolved where done) as "Resolved",
                   array(select source_record_id from decided where decision = 'insert'
                         and source_record_id not in (select source_record_id from inserted)) as "Raced",
                   array(select source_record_id from decided where decision = 'same'
                         or decision = 'update' and source_record_id not in (select source_record_id from updated)) as "UnchangedKeys",
                   array(select source_record_id from decided where decision = 'stale') as "StaleKeys",
                   array(select source_record_id from decided where decision = 'park') as "ParkedKeys"
            """;
}
