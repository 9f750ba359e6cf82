using System.Text.Json.Nodes;
using Dapper;
using Npgsql;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>Imports that meet other writers of the same records: another import, a transaction holding what they need.</summary>
public sealed class ConcurrentImportTests
{
    const int Rounds = 20;

    const int Records = 2_000;

    const int ChunkSize = 500;

    static string Line(string id, string serial) => new JsonObject
    {
        ["source_record_id"] = id,
        ["serial_number"] = serial,
        ["status"] = "completed",
        ["work_summary"] = "Stock refinished",
        ["updated_at"] = "2026-03-01T10:00:00Z",
    }.ToJsonString();

    [Fact]
    public async Task Two_imports_of_overlapping_exports_at_once_both_succeed_applying_and_auditing_each_record_once()
    {
        await using var portal = await PortalDataSource.CreateAsync();
        var folder = Directory.CreateTempSubdirectory("pos-concurrent-").FullName;
        try
        {
            for (var round = 0; round < Rounds; round++)
            {
                // The records of every other chunk name serials nobody registered (parked), the
                // others a verified gun (applied). The two exports hold the same records in chunks
                // of the same records, listed in opposite orders: each import meets the other's
                // rows in its own order.
                var lines = Enumerable.Range(0, Records)
                    .Select(i => Line($"WO-R{round}-{i:D4}", i / ChunkSize % 2 == 0 ? $"UNKNOWN-R{round}-{i:D4}" : "MX8-123456"))
                    .ToArray();
                var first = Path.Combine(folder, $"first-{round}.ndjson");
                var second = Path.Combine(folder, $"second-{round}.ndjson");
                await File.WriteAllLinesAsync(first, lines);
                await File.WriteAllLinesAsync(second, lines.Chunk(ChunkSize).SelectMany(chunk => chunk.Reverse()));

                // In this process, as `pos import` and the drop folder run it: the race is between
                // the two imports' transactions, which processes of their own would only start more
                // slowly. Each runs to the end or throws what ended it (a deadlock it did not
                // survive, say), which fails the test.
                var imports = await Task.WhenAll(
                        portal.Importer(ChunkSize).ImportAsync(first, null, CancellationToken.None),
                        portal.Importer(ChunkSize).ImportAsync(second, null, CancellationToken.None))
                    .WaitAsync(TimeSpan.FromMinutes(2));

                Assert.All(imports, outcome => Assert.Equal(Records, outcome!.RowsRead));
            }

            await using var connection = await portal.Database.OpenAsync();
            var records = Rounds * Records;
            var events = await ServiceEvents.AllAsync(connection);
            Assert.Equal(records / 2, events.Count);
            Assert.All(events.Values, e => Assert.Equal("MX8-123456", e.Serial));
            var parked = await ServiceEvents.OpenParkedAsync(connection);
            Assert.Equal(records / 2, parked.Count);
            Assert.All(parked.Values, reason => Assert.Equal("unknown_serial", reason));
            // One audit row per record applied, none for the same record found unchanged by the other import.
            Assert.Equal(
                events.Keys.Order(StringComparer.Ordinal).ToList(),
                (await connection.QueryAsync<string>(
                    """
                    select metadata->>'source_key' from audit_log where action = 'service_event.upsert' order by metadata->>'source_key' collate "C"
                    """)).ToList());
            Assert.Equal(
                (long)records / 2,
                await connection.ExecuteScalarAsync<long>("select sum(applied) from perazzi_sync.pos_imports where status = 'completed'"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Parks <paramref name="id"/> in <paramref name="transaction"/>, as another writer of it would.</summary>
    static Task<int> ParkAsync(NpgsqlTransaction transaction, string id) =>
        transaction.Connection!.ExecuteAsync("""
            select perazzi_sync.park('perazzi_pos', @Id, 'unknown_serial', 'PosServiceRecord', '{}', 'another-writer', '2026-01-01', 'digest')
            """, new { Id = id }, transaction);

    [Fact]
    public async Task A_chunk_chosen_as_a_deadlocks_victim_is_written_again_once_and_the_import_completes()
    {
        await using var portal = await PortalDataSource.CreateAsync();
        var folder = Directory.CreateTempSubdirectory("pos-deadlock-").FullName;
        try
        {
            var path = Path.Combine(folder, "export.ndjson");
            await File.WriteAllLinesAsync(path, [Line("WO-DL-0", "MX8-123456"), Line("WO-DL-A", "UNKNOWN-A"), Line("WO-DL-B", "UNKNOWN-B")]);
            // The import's sessions look for a deadlock 3 s into a wait, the other writer's only after
            // a minute: the import, waiting first, is the one PostgreSQL ends, however late the
            // other writer comes to wait.
            await using (var superuser = await portal.Database.OpenAsSuperuserAsync())
            {
                await superuser.ExecuteAsync($"alter database {portal.Database.Name} set deadlock_timeout = '3s'");
            }
            await using var other = await portal.Database.OpenAsSuperuserAsync();
            await other.ExecuteAsync("set deadlock_timeout = '60s'");
            await using var otherWriter = await other.BeginTransactionAsync();
            await ParkAsync(otherWriter, "WO-DL-B");

            // The chunk applies WO-DL-0, parks WO-DL-A and waits for WO-DL-B; the other writer then
            // waits for WO-DL-A.
            var importer = portal.Importer(100);
            var import = importer.ImportAsync(path, null, CancellationToken.None);
            await using var watch = await portal.Database.OpenAsync();
            await ProductUnderTest.EventuallyAsync(
                "the import waiting for the other writer's parked event",
                () => watch.ExecuteScalarAsync<long>("""
                    select count(*) from pg_stat_activity
                    where datname = current_database() and wait_event_type = 'Lock' and query like '%pos_incoming%'
                    """),
                n => n == 1);
            await ParkAsync(otherWriter, "WO-DL-A");
            await otherWriter.RollbackAsync();

            var outcome = (await import)!;

            Assert.Equal((3, 1, 2, 0), (outcome.RowsRead, outcome.Applied, outcome.Parked, outcome.Rejected));
            Assert.Equal(["WO-DL-0"], (await ServiceEvents.AllAsync(watch)).Keys);
            Assert.Equal(1, await ServiceEvents.AuditCountAsync(watch));
            Assert.Equal(
                [("WO-DL-A", 1), ("WO-DL-B", 1)],
                (await watch.QueryAsync<(string, int)>(
                    "select source_key, attempts from perazzi_sync.parked_events where resolved_at is null order by source_key")).ToList());
            Assert.Equal(1, await watch.ExecuteScalarAsync<int>("select attempts from perazzi_sync.pos_imports where status = 'completed'"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
