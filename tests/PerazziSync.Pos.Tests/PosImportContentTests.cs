using System.Text;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Pos.Import;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>
/// What an import keyed by a file's content does with content that is not what it hashed (a file
/// rewritten while it is imported), on real PostgreSQL, through <see cref="PosImporter"/> as the Cli
/// and the drop folder call it.
/// </summary>
public sealed class PosImportContentTests : IAsyncLifetime
{
    PortalDataSource _portal = null!;
    string _folder = null!;

    public async Task InitializeAsync()
    {
        _portal = await PortalDataSource.CreateAsync();
        _folder = Directory.CreateTempSubdirectory("pos-content-").FullName;
    }

    public async Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        await _portal.DisposeAsync();
    }

    static string Line(string id, string summary, string updatedAt = "2026-03-01T10:00:00Z") => new JsonObject
    {
        ["source_record_id"] = id,
        ["serial_number"] = "MX8-123456",
        ["status"] = "completed",
        ["work_summary"] = summary,
        ["updated_at"] = updatedAt,
    }.ToJsonString();

    /// <summary>Reports progress by running <paramref name="afterFirstChunk"/> once, when the first chunk has committed.</summary>
    sealed class AfterFirstChunk(Action afterFirstChunk) : IProgress<PosImportProgress>
    {
        int _reports;

        public void Report(PosImportProgress value)
        {
            if (Interlocked.Increment(ref _reports) == 1)
            {
                afterFirstChunk();
            }
        }
    }

    [Fact]
    public async Task A_file_rewritten_while_it_is_imported_fails_and_its_content_imported_again_is_imported_whole()
    {
        const int records = 6_000;
        var path = Path.Combine(_folder, "export.ndjson");
        var original = Encoding.UTF8.GetBytes(string.Concat(
            Enumerable.Range(0, records).Select(i => Line($"WO-CHANGE-{i:D5}", $"an export's record {i}, written out at some length") + "\n")));
        await File.WriteAllBytesAsync(path, original);

        // After the first chunk the POS writes its next export over the file, in place: three records.
        var rewrite = new AfterFirstChunk(() =>
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            file.SetLength(0);
            file.Write(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 3).Select(i => Line($"WO-NEXT-{i}", "the next export") + "\n"))));
        });
        var changed = await Assert.ThrowsAsync<PosExportException>(() => _portal.Importer(chunkSize: 200).ImportAsync(path, rewrite, CancellationToken.None));
        Assert.Contains("changed while it was imported", changed.Message, StringComparison.Ordinal);

        // The original export again: none of its records may be taken as imported already.
        await File.WriteAllBytesAsync(path, original);
        var again = await _portal.Importer(chunkSize: 200).ImportAsync(path, null, CancellationToken.None);

        Assert.False(again!.AlreadyImported);
        Assert.Equal(records, again.RowsRead);
        await using var connection = await _portal.Database.OpenAsync();
        Assert.Equal(records, await connection.ExecuteScalarAsync<long>(
            "select count(*) from service_events where source_record_id like 'WO-CHANGE-%'"));
        Assert.Equal(
            ["completed", "failed"],
            (await connection.QueryAsync<string>("select status from perazzi_sync.pos_imports order by status")).ToList());
    }

    [Fact]
    public async Task Two_lines_of_one_record_at_the_same_version_end_as_the_database_orders_equal_versions_not_as_the_file_lists_them()
    {
        var lines = new[] { Line("WO-TIE-1", "one variant"), Line("WO-TIE-1", "another variant") };
        await using var connection = await _portal.Database.OpenAsync();
        // Equal versions are ordered by the digest of their payload, whichever came first (as two
        // callbacks, or the two lines in two chunks, are): the file lists the one that wins first.
        var firstWins = await connection.ExecuteScalarAsync<bool>(
            "select md5(@First::jsonb::text) > md5(@Second::jsonb::text)", new { First = lines[0], Second = lines[1] });
        var (winner, loser) = firstWins ? (lines[0], lines[1]) : (lines[1], lines[0]);
        var path = Path.Combine(_folder, "ties.ndjson");
        await File.WriteAllTextAsync(path, $"{winner}\n{Line("WO-TIE-2", "alone")}\n{loser}\n");

        var outcome = await _portal.Importer(chunkSize: 100).ImportAsync(path, null, CancellationToken.None);

        Assert.Equal(3, outcome!.RowsRead);
        Assert.Equal(
            (string?)JsonNode.Parse(winner)!["work_summary"],
            await connection.ExecuteScalarAsync<string>("select work_summary from service_events where source_record_id = 'WO-TIE-1'"));
        Assert.Equal((2L, 1L, 0L), (outcome.Applied, outcome.Stale, outcome.Superseded));
    }
}
