using Dapper;
using Npgsql;
using PerazziSync.Testing;
using static PerazziSync.Schema.Tests.PortalFixtureData;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// A gun's workshop history outlives any delete of the gun that raced its attachment: on a database
/// of its own, with transactions that commit on three connections in an order forced by locks.
/// </summary>
public sealed class HistoryRaceTests(PortalDatabaseFixture portal) : IClassFixture<PortalDatabaseFixture>
{
    [Fact]
    public async Task An_owner_deleting_a_gun_set_back_to_a_claim_while_a_pos_write_attaches_history_deletes_neither()
    {
        // HT-009871 is Jane's, verified, with no history yet. A POS write attaches a service event
        // to it as the service role and has not committed: its key check holds a lock on the gun.
        await using var pos = await portal.OpenAsync();
        await using var write = await pos.BeginTransactionAsync();
        await new PortalSession(pos).AsServiceRoleAsync();
        await pos.ExecuteAsync("""
            insert into service_events (asset_id, owner_user_id, source_system, source_record_id, status)
            select id, owner_user_id, 'perazzi_pos', 'WO-RACE-1', 'received' from perazzi_assets where serial_number = 'HT-009871'
            """);

        // Meanwhile an admin sets the gun back to a claim; that lock does not hold the admin up.
        await using (var admin = await portal.Connection.BeginTransactionAsync())
        {
            await new PortalSession(portal.Connection).AsUserAsync(Admin);
            Assert.Equal(1, await portal.Connection.ExecuteAsync(
                "update perazzi_assets set verification_status = 'pending' where serial_number = 'HT-009871'"));
            await admin.CommitAsync();
        }

        // Jane withdraws what is now a claim without any history she or the policy can see, and
        // her delete waits for the POS write's lock on the gun.
        await using var owner = await portal.OpenAsync();
        await using var withdrawal = await owner.BeginTransactionAsync();
        await new PortalSession(owner).AsUserAsync(Jane);
        var delete = owner.ExecuteAsync("delete from perazzi_assets where serial_number = 'HT-009871'");
        await ProductUnderTest.EventuallyAsync(
            "Jane's delete waiting for the POS write's lock",
            () => portal.Connection.ExecuteScalarAsync<string?>(
                "select wait_event_type from pg_stat_activity where pid = @pid", new { pid = owner.ProcessID }),
            waiting => waiting == "Lock");
        await write.CommitAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => delete);
        Assert.Equal(PostgresErrorCodes.ForeignKeyViolation, refused.SqlState);
        await withdrawal.RollbackAsync();
        var kept = await portal.Connection.QuerySingleAsync<(long Guns, long Events)>("""
            select (select count(*) from perazzi_assets where serial_number = 'HT-009871'),
                   (select count(*) from service_events where source_record_id = 'WO-RACE-1')
            """);
        Assert.Equal((1L, 1L), kept);
    }
}
