using System.Net;
using Dapper;
using Npgsql;
using PerazziSync.Testing;

namespace PerazziSync.Pos.Tests;

/// <summary>What the POS sync left in the portal database.</summary>
static class ServiceEvents
{
    public sealed record Row(string SourceRecordId, string Status, Guid OwnerUserId, string Serial, DateTime? ServiceDate, string? WorkSummary, string Attachments, string RawPayload);

    public static async Task<Dictionary<string, Row>> AllAsync(NpgsqlConnection connection) =>
        (await connection.QueryAsync<Row>(
            """
            select e.source_record_id as "SourceRecordId", e.status as "Status", e.owner_user_id as "OwnerUserId",
                   a.serial_number as "Serial", e.service_date as "ServiceDate", e.work_summary as "WorkSummary",
                   e.attachments::text as "Attachments", e.raw_payload::text as "RawPayload"
            from service_events e join perazzi_assets a on a.id = e.asset_id
            where e.source_system = 'perazzi_pos'
            """)).ToDictionary(r => r.SourceRecordId);

    public static async Task<Dictionary<string, string>> OpenParkedAsync(NpgsqlConnection connection) =>
        (await connection.QueryAsync<(string Key, string Reason)>(
            "select source_key, reason from perazzi_sync.parked_events where source_system = 'perazzi_pos' and resolved_at is null"))
        .ToDictionary(p => p.Key, p => p.Reason);

    /// <summary>
    /// An uncommitted insert of the record <paramref name="id"/> for the asset of
    /// <paramref name="serial"/>, in <paramref name="holding"/>: a write of that record then waits
    /// for it with its own transaction open.
    /// </summary>
    public static Task HoldAsync(NpgsqlTransaction holding, string id, string serial) =>
        holding.Connection!.ExecuteAsync("""
            insert into service_events (asset_id, owner_user_id, source_system, source_record_id, status)
            select id, owner_user_id, 'perazzi_pos', @Id, 'received' from perazzi_assets where serial_number = upper(btrim(@Serial))
            """, new { Id = id, Serial = serial }, holding);

    /// <summary>Waits until one statement writing staged POS records (<c>pos_incoming</c>) waits for a lock.</summary>
    public static Task WaitForHeldWriteAsync(ProductUnderTest product, NpgsqlConnection connection, string waitingFor) =>
        ProductUnderTest.EventuallyAsync(
            waitingFor,
            () => connection.ExecuteScalarAsync<long>("""
                select count(*) from pg_stat_activity
                where datname = current_database() and wait_event_type = 'Lock' and query like '%pos_incoming%'
                """),
            n => n == 1, diagnostics: product.Logs);

    public static Task<long> AuditCountAsync(NpgsqlConnection connection, string? sourceKey = null) =>
        connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and (@Key::text is null or metadata->>'source_key' = @Key)",
            new { Key = sourceKey });

    public sealed record Import(long RowsRead, long Applied, long Superseded, long Unchanged, long Stale, long Parked, long Rejected, string Status);

    public static Task<Import> ImportAsync(NpgsqlConnection connection, string fileName) =>
        connection.QuerySingleAsync<Import>(
            """
            select rows_read as "RowsRead", applied as "Applied", superseded as "Superseded", unchanged as "Unchanged",
                   stale as "Stale", parked as "Parked", rejected as "Rejected", status as "Status"
            from perazzi_sync.pos_imports where file_name = @FileName
            """, new { FileName = fileName });

    public static async Task<List<(long Line, string? SourceRecordId, string Reason)>> RejectionsWithIdsAsync(NpgsqlConnection connection, string fileName) =>
        (await connection.QueryAsync<(long, string?, string)>(
            """
            select r.line, r.source_record_id, r.reason from perazzi_sync.pos_import_rejections r
            join perazzi_sync.pos_imports i on i.id = r.import_id
            where i.file_name = @FileName order by r.line
            """, new { FileName = fileName })).AsList();

    public static async Task<List<(long Line, string Reason)>> RejectionsAsync(NpgsqlConnection connection, string fileName) =>
        (await connection.QueryAsync<(long, string)>(
            """
            select r.line, r.reason from perazzi_sync.pos_import_rejections r
            join perazzi_sync.pos_imports i on i.id = r.import_id
            where i.file_name = @FileName order by r.line
            """, new { FileName = fileName })).AsList();

    /// <summary>
    /// Posts a POS callback as the POS does: a 503 (the broker did not confirm in time, as on a
    /// busy machine) is sent again under the same webhook-id; anything else but 200 fails.
    /// </summary>
    public static async Task SendUntilAcceptedAsync(ProductUnderTest product, string body, string? webhookId = null)
    {
        webhookId ??= "msg_" + Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            using var response = await product.PosWebhooks.SendAsync(body, webhookId);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || attempt == 5)
            {
                response.EnsureSuccessStatusCode();
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }
}
