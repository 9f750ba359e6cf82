using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using PerazziSync.Pos.Rows;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// The version guard of <see cref="ServiceEventRows"/> under concurrency and in any order of
/// arrival, on real PostgreSQL: the writer's own statements, called the way the worker's
/// consumer (one record per transaction) and the importer (chunks) call them.
/// </summary>
public sealed class VersionOrderTests : IAsyncLifetime
{
    static readonly DateTimeOffset Base = new(2026, 4, 1, 8, 0, 0, TimeSpan.Zero);

    readonly PosRecordParser _parser = new(TimeZoneInfo.Utc, TimeProvider.System, new PosOptions().UpdatedAtMaxAhead);
    PortalDataSource _portal = null!;

    public async Task InitializeAsync() => _portal = await PortalDataSource.CreateAsync();

    public async Task DisposeAsync() => await _portal.DisposeAsync();

    [Fact]
    public async Task An_import_racing_callbacks_for_the_same_new_records_ends_with_the_newest_versions_and_one_audit_row_per_write()
    {
        const int rounds = 12;
        const int records = 120;
        var importer = new PosImporter(_portal.DataSource, _parser, chunkSize: 20, new PosOptions().BatchWriteTimeout);
        var applied = 0L;
        var random = new Random(11);
        for (var round = 0; round < rounds; round++)
        {
            var ids = Enumerable.Range(0, records).Select(i => $"RACE-{round:D2}-{i:D4}").ToList();
            // The import carries the middle version; callbacks bring an older and a newer one.
            var file = Path.Combine(Path.GetTempPath(), $"race-{Guid.NewGuid():N}.ndjson");
            await File.WriteAllLinesAsync(file, ids.OrderBy(_ => random.Next()).Select(id => Json(id, 2)));
            var callbacks = ids.SelectMany(id => new[] { Record(id, 1), Record(id, 3) }).OrderBy(_ => random.Next()).ToList();
            try
            {
                var import = Task.Run(() => importer.ImportAsync(file, progress: null, CancellationToken.None));
                var sent = 0L;
                await Parallel.ForEachAsync(callbacks, new ParallelOptions { MaxDegreeOfParallelism = 6 }, async (record, cancellationToken) =>
                {
                    if (await CallbackAsync(record, cancellationToken) == SyncOutcome.Applied)
                    {
                        Interlocked.Increment(ref sent);
                    }
                });
                var outcome = await import;
                Assert.Equal(records, outcome!.Applied + outcome.Unchanged + outcome.Stale);
                applied += outcome.Applied + sent;
            }
            finally
            {
                File.Delete(file);
            }
        }

        await using var connection = await _portal.Database.OpenAsync();
        var rows = (await connection.QueryAsync<(string Id, string Status, DateTime Version)>(
            "select source_record_id, status, source_modified_at from service_events where source_record_id like 'RACE-%'")).ToList();
        Assert.Equal(rounds * records, rows.Count);
        var notNewest = rows.Where(r => r.Status != "completed" || r.Version != Version(3).UtcDateTime).Select(r => $"{r.Id}: {r.Status}").ToList();
        Assert.True(notNewest.Count == 0, $"{notNewest.Count} record(s) did not end at their newest version, e.g. {string.Join(", ", notNewest.Take(5))}");

        var audit = (await connection.QueryAsync<(string Id, string Operation, string Changed, DateTime Version, DateTime? Previous)>(
            """
            select metadata->>'source_key', metadata->>'operation', metadata->>'changed_fields',
                   (metadata->>'version')::timestamptz, (metadata->>'previous_version')::timestamptz
            from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'RACE-%'
            """)).ToList();
        Assert.Equal(applied, audit.Count);
        var broken = audit.GroupBy(a => a.Id).Select(ChainProblem).OfType<string>().ToList();
        Assert.True(broken.Count == 0, $"{broken.Count} record(s) have audit rows that describe no write that happened, e.g. {string.Join("; ", broken.Take(3))}");
    }

    [Fact]
    public async Task Any_order_of_redeliveries_replays_and_imports_ends_with_the_rows_of_in_order_delivery()
    {
        // Equal versions with different content (a replay of another variant, a re-sent export),
        // older and newer ones, for a few work orders.
        var versions = new List<PosServiceRecord>
        {
            Record("ORDER-A", 1), Record("ORDER-A", 2), Record("ORDER-A", 3),
            Record("ORDER-B", 1, "first variant"), Record("ORDER-B", 1, "second variant"), Record("ORDER-B", 0),
            Record("ORDER-C", 1, "one"), Record("ORDER-C", 1, "two"), Record("ORDER-C", 2, "three"), Record("ORDER-C", 2, "four"),
            Record("ORDER-D", 5, "only"),
        };
        foreach (var record in versions.OrderBy(r => r.UpdatedAt))
        {
            await CallbackAsync(record, CancellationToken.None);
        }
        var inOrder = await RowsAsync();

        var random = new Random(5);
        for (var trial = 0; trial < 12; trial++)
        {
            await using (var connection = await _portal.Database.OpenAsync())
            {
                await connection.ExecuteAsync("delete from service_events where source_record_id like 'ORDER-%'");
            }
            // Every version once or twice, in any order, each time by callback or in an import chunk.
            var deliveries = versions.Concat(versions.Where(_ => random.Next(2) == 0)).OrderBy(_ => random.Next()).ToList();
            while (deliveries.Count > 0)
            {
                if (random.Next(2) == 0)
                {
                    await CallbackAsync(deliveries[0], CancellationToken.None);
                    deliveries.RemoveAt(0);
                    continue;
                }
                var chunk = deliveries.DistinctBy(r => r.SourceRecordId).Take(random.Next(1, 4)).ToList();
                await ChunkAsync(chunk);
                foreach (var record in chunk)
                {
                    deliveries.Remove(record);
                }
            }
            Assert.Equal(inOrder, await RowsAsync());
        }
    }

    static DateTimeOffset Version(int version) => Base.AddHours(version);

    static string Json(string id, int version, string? variant = null) => new JsonObject
    {
        ["source_record_id"] = id,
        ["serial_number"] = "MX8-123456",
        ["status"] = version >= 3 ? "completed" : "in_service",
        ["work_summary"] = $"version {version}{(variant is null ? "" : ", " + variant)}",
        ["updated_at"] = Version(version).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
    }.ToJsonString();

    PosServiceRecord Record(string id, int version, string? variant = null)
    {
        var json = Json(id, version, variant);
        using var document = JsonDocument.Parse(json);
        return _parser.FromJson(document.RootElement, json).Record!;
    }

    /// <summary>As the worker applies a callback that comes alone: a group of one, its own transaction.</summary>
    async Task<SyncOutcome> CallbackAsync(PosServiceRecord record, CancellationToken cancellationToken)
    {
        var written = await CallbackGroups.WriteAsync(
            _portal.DataSource, [new PosCallback(record, new MessageOrigin(Guid.NewGuid().ToString(), null, null))], cancellationToken);
        return Assert.Single(written).Outcome;
    }

    /// <summary>As an import writes a chunk: several records in one set-based statement.</summary>
    async Task ChunkAsync(IReadOnlyList<PosServiceRecord> records)
    {
        await using var connection = await _portal.DataSource.OpenConnectionAsync();
        await using var transaction = await ServiceRole.BeginAsync(connection, null, CancellationToken.None);
        await ServiceEventRows.WriteAsync(
            transaction, records.Select((r, i) => new RecordToWrite(r, i + 1)).ToList(), AuditContext.For(ServiceEventRows.SourceSystem), null, commandTimeout: 0, CancellationToken.None);
        await transaction.CommitAsync();
    }

    async Task<List<string>> RowsAsync()
    {
        await using var connection = await _portal.Database.OpenAsync();
        return (await connection.QueryAsync<string>(
            """
            select source_record_id || ' ' || status || ' ' || work_summary || ' ' || source_modified_at || ' ' || raw_payload::text
            from service_events where source_record_id like 'ORDER-%' order by source_record_id
            """)).ToList();
    }

    /// <summary>
    /// Why one record's audit rows do not describe a chain of real writes, or null when they do:
    /// one insert, then updates each replacing the version the previous write stored, newer each
    /// time, none replacing a version twice.
    /// </summary>
    static string? ChainProblem(IGrouping<string, (string Id, string Operation, string Changed, DateTime Version, DateTime? Previous)> rows)
    {
        var inserts = rows.Where(r => r.Operation == "insert").ToList();
        if (inserts.Count != 1 || inserts[0].Previous is not null || !inserts[0].Changed.Contains("source_record_id", StringComparison.Ordinal))
        {
            return $"{rows.Key}: {inserts.Count} insert(s)";
        }
        var versions = rows.Select(r => r.Version).ToHashSet();
        foreach (var update in rows.Where(r => r.Operation == "update"))
        {
            if (update.Previous is not { } previous || !versions.Contains(previous) || previous >= update.Version
                || update.Changed.Contains("source_record_id", StringComparison.Ordinal))
            {
                return $"{rows.Key}: update to {update.Version:O} from {update.Previous:O} with {update.Changed}";
            }
        }
        if (versions.Count != rows.Count() || rows.Where(r => r.Previous is not null).Select(r => r.Previous).Distinct().Count() != rows.Count() - 1)
        {
            return $"{rows.Key}: a version written or replaced twice";
        }
        return null;
    }
}
