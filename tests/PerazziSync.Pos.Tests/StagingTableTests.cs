using Dapper;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Rows;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// The temp table the set-based writer stages records in, on real PostgreSQL: a connection that
/// keeps its session between transactions, as the worker's writer of POS callbacks does, creates
/// it once and reuses it, emptied by every commit, instead of creating and dropping a table (a
/// score of catalog rows) in every transaction.
/// </summary>
public sealed class StagingTableTests : IAsyncLifetime
{
    static readonly DateTimeOffset Base = new(2026, 5, 1, 8, 0, 0, TimeSpan.Zero);

    PortalDataSource _portal = null!;
    NpgsqlDataSource _session = null!;

    public async Task InitializeAsync()
    {
        _portal = await PortalDataSource.CreateAsync();
        // One connection, never reset: every transaction below runs in the same session.
        _session = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_portal.Database.ConnectionString)
        {
            NoResetOnClose = true,
            MaxPoolSize = 1,
        }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _session.DisposeAsync();
        await _portal.DisposeAsync();
    }

    static PosCallback Callback(string id, int version) => new(
        new PosServiceRecord(id, "MX8-123456", "completed", Base, $"version {version}", [], Base.AddHours(version), "{}"),
        new MessageOrigin(Guid.NewGuid().ToString(), null, null));

    /// <summary>The session's staging table and how many rows it holds as the service role sees them, or null when it has none.</summary>
    async Task<(uint Table, long Rows)?> StagingAsync()
    {
        await using var connection = await _session.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var table = await connection.ExecuteScalarAsync<uint?>("select to_regclass('pg_temp.pos_incoming')::oid", transaction: transaction);
        if (table is null)
        {
            return null;
        }
        await connection.ExecuteAsync("set local role service_role", transaction: transaction);
        return (table.Value, await connection.ExecuteScalarAsync<long>("select count(*) from pg_temp.pos_incoming", transaction: transaction));
    }

    [Fact]
    public async Task Groups_written_in_one_session_reuse_its_staging_table_which_every_commit_empties()
    {
        // Two versions of one record: two statements in one transaction, the second staging its record after the first's.
        var first = await CallbackGroups.WriteAsync(_session, [Callback("STAGE-1", 1), Callback("STAGE-1", 2), Callback("STAGE-2", 1)], CancellationToken.None);
        Assert.Equal([SyncOutcome.Stale, SyncOutcome.Applied, SyncOutcome.Applied], first.Select(w => w.Outcome));
        var afterFirst = await StagingAsync();
        Assert.NotNull(afterFirst);
        Assert.Equal(0, afterFirst.Value.Rows);

        var second = await CallbackGroups.WriteAsync(_session, [Callback("STAGE-2", 3), Callback("STAGE-3", 1)], CancellationToken.None);
        Assert.Equal([SyncOutcome.Applied, SyncOutcome.Applied], second.Select(w => w.Outcome));
        Assert.Equal((afterFirst.Value.Table, 0L), await StagingAsync());

        await using var connection = await _portal.Database.OpenAsync();
        var rows = await connection.QueryAsync<(string, string)>(
            "select source_record_id, work_summary from service_events where source_record_id like 'STAGE-%' order by 1");
        Assert.Equal([("STAGE-1", "version 2"), ("STAGE-2", "version 3"), ("STAGE-3", "version 1")], rows);
    }
}
