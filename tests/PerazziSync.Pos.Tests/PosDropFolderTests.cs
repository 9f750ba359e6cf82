using System.Globalization;
using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>The worker's drop-folder import: complete files only, and nothing lost or doubled when the worker dies.</summary>
public sealed class PosDropFolderTests : IAsyncLifetime
{
    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    readonly string _folder = Directory.CreateTempSubdirectory("perazzi-drop-").FullName;
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["Pos__DropFolder"] = _folder,
            ["Pos__DropFolderCron"] = "0/1 * * * * ?",
            ["Pos__DropFolderSettleTime"] = "00:00:02",
        });

    public async Task DisposeAsync()
    {
        await _product.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    static string Row(string prefix, int i) => string.Create(CultureInfo.InvariantCulture,
        $"{prefix}-{i:D7},HT-009871,completed,2026-03-02T09:15:00+01:00,\"Service {i}, all good\",,2026-03-02T09:20:00+01:00");

    [Fact]
    public async Task A_file_still_being_written_is_imported_only_once_complete_and_then_whole()
    {
        var path = Path.Combine(_folder, "growing.csv");
        await using (var writer = new StreamWriter(path))
        {
            await writer.WriteLineAsync(Header);
            for (var i = 0; i < 30; i++)
            {
                await writer.WriteLineAsync(Row("WO-G", i));
                await writer.FlushAsync();
                // A slow writer: a row every 150 ms for 4.5 s, longer than a poll, shorter than the settle time between writes.
                await Task.Delay(150);
            }
        }

        await using var connection = await _product.OpenDatabaseAsync();
        var status = await ProductUnderTest.EventuallyAsync(
            () => connection.ExecuteScalarAsync<string?>("select status from perazzi_sync.pos_imports where file_name = 'growing.csv'"),
            s => s == "completed");
        Assert.True(status == "completed", _product.Logs());
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.pos_imports where file_name = 'growing.csv'"));
        Assert.Equal(30, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-G-%'"));
        await ProductUnderTest.EventuallyAsync(() => Task.FromResult(File.Exists(Path.Combine(_folder, "processed", "growing.csv"))), moved => moved);
        Assert.True(File.Exists(Path.Combine(_folder, "processed", "growing.csv")));
    }

    [Fact]
    public async Task Killing_the_worker_mid_import_and_starting_another_applies_every_row_exactly_once()
    {
        const int rows = 150_000;
        var staging = Path.Combine(_folder, ".large.csv.part");
        await using (var writer = new StreamWriter(staging))
        {
            await writer.WriteLineAsync(Header);
            for (var i = 0; i < rows; i++)
            {
                await writer.WriteLineAsync(Row("WO-K", i));
            }
        }
        // Renamed into place: complete the moment it appears.
        File.Move(staging, Path.Combine(_folder, "large.csv"));

        await using var connection = await _product.OpenDatabaseAsync();
        var read = await ProductUnderTest.EventuallyAsync(
            () => connection.ExecuteScalarAsync<long>("select coalesce(max(rows_read), 0) from perazzi_sync.pos_imports where file_name = 'large.csv'"),
            n => n >= 20_000, TimeSpan.FromSeconds(120));
        Assert.True(read is >= 20_000 and < rows, $"killed at {read}\n{_product.Logs()}");
        await _product.Workers[0].DisposeAsync();
        await _product.StartWorkerAsync();

        var status = await ProductUnderTest.EventuallyAsync(
            () => connection.ExecuteScalarAsync<string?>("select status from perazzi_sync.pos_imports where file_name = 'large.csv'"),
            s => s == "completed", TimeSpan.FromSeconds(180));
        Assert.True(status == "completed", _product.Logs());
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-K-%'"));
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-K-%'"));
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>("select applied from perazzi_sync.pos_imports where file_name = 'large.csv'"));
    }
}
