using System.Globalization;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>Two `pos import` processes of exports that share records, started at once.</summary>
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
        await using var database = await TestDatabase.CreatePortalAsync();
        var folder = Directory.CreateTempSubdirectory("pos-concurrent-").FullName;
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = database.ConnectionString,
                ["Pos__ImportChunkSize"] = ChunkSize.ToString(CultureInfo.InvariantCulture),
            };
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

                await using var one = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", first);
                await using var other = HostProcess.Start("PerazziSync.Cli", environment, "pos", "import", second);
                var exits = await Task.WhenAll(one.WaitForExitAsync(TimeSpan.FromMinutes(2)), other.WaitForExitAsync(TimeSpan.FromMinutes(2)));

                Assert.True(exits[0] == 0, $"round {round}: {one.Output}");
                Assert.True(exits[1] == 0, $"round {round}: {other.Output}");
            }

            await using var connection = await database.OpenAsync();
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
}
