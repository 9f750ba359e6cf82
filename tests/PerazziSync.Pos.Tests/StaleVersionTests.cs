using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// An older version of a work order that names another serial than the version stored (the POS
/// corrected a typo in the serial, and the version with the typo arrives late: a dead-letter
/// replay, an old export) on real PostgreSQL, through the writers the worker and the importer
/// call. It is not the work order's current version, so it must neither be parked nor weigh a
/// claim on the serial it names.
/// </summary>
public sealed class StaleVersionTests : IAsyncLifetime
{
    const string StoredSerial = "MX8-123456";

    PortalDataSource _portal = null!;

    public async Task InitializeAsync() => _portal = await PortalDataSource.CreateAsync();

    public async Task DisposeAsync() => await _portal.DisposeAsync();

    static PosServiceRecord Record(string id, string serial, string updatedAt, string? email)
    {
        var json = new JsonObject
        {
            ["source_record_id"] = id,
            ["serial_number"] = serial,
            ["status"] = "completed",
            ["work_summary"] = $"{serial} at {updatedAt}",
            ["updated_at"] = updatedAt,
            ["customer_email"] = email,
        }.ToJsonString();
        using var document = JsonDocument.Parse(json);
        return new PosRecordParser(TimeZoneInfo.Utc, TimeProvider.System, new PosOptions().UpdatedAtMaxAhead).FromJson(document.RootElement, json).Record!;
    }

    async Task<SyncOutcome> CallbackAsync(PosServiceRecord record) =>
        Assert.Single(await CallbackGroups.WriteAsync(
            _portal.DataSource, [new PosCallback(record, new MessageOrigin(Guid.NewGuid().ToString(), null, null))], CancellationToken.None)).Outcome;

    /// <summary>A confirmed portal user claiming <paramref name="serial"/>; the claimed asset's id.</summary>
    async Task<Guid> ClaimAsync(string email, string serial)
    {
        await using var connection = await _portal.Database.OpenAsync();
        var user = Guid.NewGuid();
        return await connection.ExecuteScalarAsync<Guid>("""
            insert into auth.users (id, email, email_confirmed_at) values (@user, @email, now());
            insert into profiles (id, email, display_name) values (@user, @email, @email);
            insert into perazzi_assets (owner_user_id, serial_number, model, verification_status)
            values (@user, @serial, 'MX8', 'unverified') returning id;
            """, new { user, email, serial });
    }

    async Task<(string Asset, string? Claim, string? Reason)> ClaimStateAsync(Guid asset)
    {
        await using var connection = await _portal.Database.OpenAsync();
        return await connection.QuerySingleAsync<(string, string?, string?)>("""
            select a.verification_status, c.status, c.reason
            from perazzi_assets a left join perazzi_sync.asset_claims c on c.asset_id = a.id
            where a.id = @asset
            """, new { asset });
    }

    async Task<Dictionary<string, string>> OpenParkedAsync()
    {
        await using var connection = await _portal.Database.OpenAsync();
        return await ServiceEvents.OpenParkedAsync(connection);
    }

    [Fact]
    public async Task An_older_version_naming_another_serial_is_stale_not_parked_and_verifies_no_claim_on_that_serial()
    {
        Assert.Equal(SyncOutcome.Applied, await CallbackAsync(Record("WO-TYPO-1", StoredSerial, "2026-03-02T10:00:00Z", "janedoe@example.com")));
        var claim = await ClaimAsync("other.person@example.com", "MX8-TYPO01");

        // The version before the serial was corrected, naming the claimant, arrives late.
        Assert.Equal(SyncOutcome.Stale, await CallbackAsync(Record("WO-TYPO-1", "MX8-TYPO01", "2026-03-01T10:00:00Z", "other.person@example.com")));
        Assert.DoesNotContain("WO-TYPO-1", (await OpenParkedAsync()).Keys);
        Assert.Equal("unverified", (await ClaimStateAsync(claim)).Asset);

        // A record of that serial naming nobody: nothing names the claimant.
        Assert.Equal(SyncOutcome.Parked, await CallbackAsync(Record("WO-TYPO-2", "MX8-TYPO01", "2026-03-03T10:00:00Z", null)));
        Assert.Equal(("unverified", "open", "no_pos_identity"), await ClaimStateAsync(claim));
        await using var connection = await _portal.Database.OpenAsync();
        Assert.Equal(StoredSerial, (await ServiceEvents.AllAsync(connection))["WO-TYPO-1"].Serial);

        // The same version as stored, replayed while its gun is no longer verified, is unchanged, not parked.
        await connection.ExecuteAsync("update perazzi_assets set verification_status = 'rejected' where serial_number = @StoredSerial", new { StoredSerial });
        Assert.Equal(SyncOutcome.Unchanged, await CallbackAsync(Record("WO-TYPO-1", StoredSerial, "2026-03-02T10:00:00Z", "janedoe@example.com")));
        Assert.DoesNotContain("WO-TYPO-1", (await OpenParkedAsync()).Keys);
    }

    [Fact]
    public async Task A_version_parked_while_a_racing_writer_stored_a_newer_one_weighs_no_claim_on_the_serial_it_names()
    {
        // The newer version, with the corrected serial, written and not yet committed.
        await using var racing = await _portal.DataSource.OpenConnectionAsync();
        await using var newer = await ServiceRole.BeginAsync(racing, null, CancellationToken.None);
        await ServiceEventRows.WriteAsync(
            newer, [new RecordToWrite(Record("WO-RACE-1", StoredSerial, "2026-03-02T10:00:00Z", "janedoe@example.com"), 1)],
            AuditContext.For(ServiceEventRows.SourceSystem), null, commandTimeout: 0, CancellationToken.None);
        // Meanwhile the older one, with the typo: the newer row is not visible yet, so it is parked.
        Assert.Equal(SyncOutcome.Parked, await CallbackAsync(Record("WO-RACE-1", "MX8-RACE01", "2026-03-01T10:00:00Z", "other.racer@example.com")));
        await newer.CommitAsync();
        Assert.Contains("WO-RACE-1", (await OpenParkedAsync()).Keys);

        var claim = await ClaimAsync("other.racer@example.com", "MX8-RACE01");
        Assert.Equal(SyncOutcome.Parked, await CallbackAsync(Record("WO-RACE-2", "MX8-RACE01", "2026-03-03T10:00:00Z", null)));

        Assert.Equal(("unverified", "open", "no_pos_identity"), await ClaimStateAsync(claim));
    }
}
