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
        await ProductUnderTest.EventuallyAsync(
            "the import of growing.csv completed",
            () => connection.ExecuteScalarAsync<string?>("select status from perazzi_sync.pos_imports where file_name = 'growing.csv'"),
            s => s == "completed", diagnostics: _product.Logs);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.pos_imports where file_name = 'growing.csv'"));
        Assert.Equal(30, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-G-%'"));
        await WaitForFileAsync(Path.Combine(_folder, "processed", "growing.csv"), TimeSpan.FromSeconds(30));
    }

    /// <summary>Drops a CSV export of <paramref name="rows"/> into the folder whole, as a file renamed into place.</summary>
    async Task DropAsync(string name, params string[] rows)
    {
        var part = Path.Combine(_folder, $".{name}.part");
        await File.WriteAllLinesAsync(part, [Header, .. rows]);
        File.Move(part, Path.Combine(_folder, name));
    }

    /// <summary>Waits for a file to appear, failing with what it waited for.</summary>
    async Task WaitForFileAsync(string path, TimeSpan timeout) =>
        await ProductUnderTest.EventuallyAsync(path + " to appear", () => Task.FromResult(File.Exists(path)), exists => exists, timeout, _product.Logs);

    [Fact]
    public async Task A_file_whose_import_keeps_failing_goes_to_failed_after_three_attempts_while_later_files_are_imported()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        // A fault that is not a bad row and not the database being away: every attempt at the file fails.
        await connection.ExecuteAsync("""
            create function public.refuse_stuck() returns trigger language plpgsql as $$
            begin
              if new.source_record_id like 'WO-STUCK-%' then
                raise exception 'service_events refuses %', new.source_record_id;
              end if;
              return new;
            end $$;
            create trigger refuse_stuck before insert on service_events for each row execute function public.refuse_stuck();
            """);
        await DropAsync("stuck.csv", Row("WO-STUCK", 1), Row("WO-S-OK", 2));
        await WaitForFileAsync(Path.Combine(_folder, "processing", "stuck.csv"), TimeSpan.FromSeconds(30));

        await DropAsync("later.csv", [.. Enumerable.Range(0, 20).Select(i => Row("WO-LATER", i))]);

        await WaitForFileAsync(Path.Combine(_folder, "processed", "later.csv"), TimeSpan.FromSeconds(30));
        Assert.Equal(20, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-LATER-%'"));
        await WaitForFileAsync(Path.Combine(_folder, "failed", "stuck.csv.error.txt"), TimeSpan.FromSeconds(30));
        Assert.True(File.Exists(Path.Combine(_folder, "failed", "stuck.csv")));
        Assert.False(File.Exists(Path.Combine(_folder, "processing", "stuck.csv")));
        var error = await File.ReadAllTextAsync(Path.Combine(_folder, "failed", "stuck.csv.error.txt"));
        Assert.Contains("3 attempts", error, StringComparison.Ordinal);
        Assert.Contains("service_events refuses WO-STUCK-0000001", error, StringComparison.Ordinal);
        Assert.Equal((3, "failed"), await connection.QuerySingleAsync<(int, string)>(
            "select attempts, status from perazzi_sync.pos_imports where file_name = 'stuck.csv'"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-S%'"));
    }

    [Fact]
    public async Task A_file_whose_writes_keep_failing_transiently_is_never_given_up_and_is_imported_once_they_stop()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        // The first four writes of the file's records fail as a deadlock or a serialization failure
        // does, which is nobody's fault: more times than the attempts a file gets.
        await connection.ExecuteAsync("""
            create sequence public.flaky_writes;
            create function public.fail_flaky() returns trigger language plpgsql security definer as $$
            begin
              if new.source_record_id like 'WO-FLAKY-%' and nextval('public.flaky_writes') <= 4 then
                raise exception 'could not serialize access to %', new.source_record_id using errcode = 'serialization_failure';
              end if;
              return new;
            end $$;
            create trigger fail_flaky before insert on service_events for each row execute function public.fail_flaky();
            """);
        await DropAsync("flaky.csv", Row("WO-FLAKY", 1), Row("WO-FLAKY", 2));

        await WaitForFileAsync(Path.Combine(_folder, "processed", "flaky.csv"), TimeSpan.FromSeconds(60));
        Assert.True(await connection.ExecuteScalarAsync<long>("select last_value from public.flaky_writes") >= 5);
        Assert.Equal((1, "completed", 2L), await connection.QuerySingleAsync<(int, string, long)>(
            "select attempts, status, applied from perazzi_sync.pos_imports where file_name = 'flaky.csv'"));
        Assert.Equal(["WO-FLAKY-0000001", "WO-FLAKY-0000002"], (await connection.QueryAsync<string>("""
            select metadata->>'source_key' from audit_log
            where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-FLAKY-%' order by 1
            """)).ToArray());
        Assert.False(Directory.Exists(Path.Combine(_folder, "failed")));
        Assert.Contains("could not serialize access to WO-FLAKY-0000001", _product.Logs(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Named_pipes_devices_and_links_go_to_failed_at_once_saying_why_and_the_exports_beside_and_after_them_are_imported()
    {
        // A file from outside the folder that the worker can read: linked, it would be imported.
        var outside = Directory.CreateTempSubdirectory("perazzi-outside-").FullName;
        try
        {
            var elsewhere = Path.Combine(outside, "elsewhere.csv");
            await File.WriteAllLinesAsync(elsewhere, [Header, Row("WO-OUTSIDE", 0)]);
            File.CreateSymbolicLink(Path.Combine(_folder, "linked.csv"), elsewhere);
            // Read through, a device that never ends (hashed for ever) and a pipe that waits for a writer.
            File.CreateSymbolicLink(Path.Combine(_folder, "zero.csv"), "/dev/zero");
            await NamedPipe.CreateAsync(Path.Combine(_folder, "pipe.csv"));
            await DropAsync("beside.csv", [.. Enumerable.Range(0, 5).Select(i => Row("WO-BESIDE", i))]);

            var failed = Path.Combine(_folder, "failed");
            await WaitForFileAsync(Path.Combine(_folder, "processed", "beside.csv"), TimeSpan.FromSeconds(30));
            foreach (var name in new[] { "linked.csv", "zero.csv", "pipe.csv" })
            {
                await WaitForFileAsync(Path.Combine(failed, name + ".error.txt"), TimeSpan.FromSeconds(30));
            }
            await DropAsync("after.csv", [.. Enumerable.Range(0, 5).Select(i => Row("WO-AFTER", i))]);
            await WaitForFileAsync(Path.Combine(_folder, "processed", "after.csv"), TimeSpan.FromSeconds(30));

            Assert.Equal("it is a symbolic link, not a regular file; only regular files are imported",
                await File.ReadAllTextAsync(Path.Combine(failed, "linked.csv.error.txt")));
            Assert.Equal("it is a symbolic link, not a regular file; only regular files are imported",
                await File.ReadAllTextAsync(Path.Combine(failed, "zero.csv.error.txt")));
            Assert.Equal("it is a named pipe (FIFO), not a regular file; only regular files are imported",
                await File.ReadAllTextAsync(Path.Combine(failed, "pipe.csv.error.txt")));
            Assert.Equal(FileAttributes.ReparsePoint, File.GetAttributes(Path.Combine(failed, "linked.csv")) & FileAttributes.ReparsePoint);
            Assert.True(File.Exists(elsewhere));
            await using var connection = await _product.OpenDatabaseAsync();
            Assert.Equal(5, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-BESIDE-%'"));
            Assert.Equal(5, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-AFTER-%'"));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-OUTSIDE-%'"));
            Assert.Equal(["after.csv", "beside.csv"],
                await connection.QueryAsync<string>("select file_name from perazzi_sync.pos_imports order by file_name"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_folder, "processing")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task A_hard_link_to_a_file_outside_goes_to_failed_saying_so_unread_and_the_export_beside_it_is_imported()
    {
        // A regular file like any other, but a second name of a file elsewhere the worker can read.
        var outside = Directory.CreateTempSubdirectory("perazzi-outside-").FullName;
        try
        {
            var elsewhere = Path.Combine(outside, "elsewhere.csv");
            await File.WriteAllLinesAsync(elsewhere, [Header, .. Enumerable.Range(0, 3).Select(i => Row("WO-HARDLINK", i))]);
            await HardLink.CreateAsync(elsewhere, Path.Combine(_folder, "hardlinked.csv"));
            await DropAsync("beside.csv", [.. Enumerable.Range(0, 5).Select(i => Row("WO-BESIDE", i))]);

            var failed = Path.Combine(_folder, "failed");
            await WaitForFileAsync(Path.Combine(_folder, "processed", "beside.csv"), TimeSpan.FromSeconds(30));
            await WaitForFileAsync(Path.Combine(failed, "hardlinked.csv.error.txt"), TimeSpan.FromSeconds(30));

            Assert.Equal("it has 2 hard links, so it may be a file from elsewhere; only a file with a single link is imported from the drop folder",
                await File.ReadAllTextAsync(Path.Combine(failed, "hardlinked.csv.error.txt")));
            Assert.Equal(await File.ReadAllTextAsync(elsewhere), await File.ReadAllTextAsync(Path.Combine(failed, "hardlinked.csv")));
            await using var connection = await _product.OpenDatabaseAsync();
            Assert.Equal(5, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-BESIDE-%'"));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-HARDLINK-%'"));
            Assert.Equal(5, await connection.ExecuteScalarAsync<long>(
                "select count(*) from audit_log where metadata->>'file_name' = 'beside.csv'"));
            Assert.Equal(0, await connection.ExecuteScalarAsync<long>(
                "select count(*) from audit_log where metadata->>'file_name' = 'hardlinked.csv' or metadata->>'source_key' like 'WO-HARDLINK-%'"));
            Assert.Equal(["beside.csv"], await connection.QueryAsync<string>("select file_name from perazzi_sync.pos_imports"));
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_folder, "processing")));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Files_of_one_name_failing_one_after_another_each_keep_their_own_reason()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "twice.csv"), "");
        await WaitForFileAsync(Path.Combine(_folder, "failed", "twice.csv.error.txt"), TimeSpan.FromSeconds(30));
        // Another file of the name, refused for another reason: no column the export needs.
        await File.WriteAllTextAsync(Path.Combine(_folder, ".twice.csv.part"), "not,an,export\n");
        File.Move(Path.Combine(_folder, ".twice.csv.part"), Path.Combine(_folder, "twice.csv"));

        var failed = Path.Combine(_folder, "failed");
        var files = await ProductUnderTest.EventuallyAsync(
            "the second file failed beside the first",
            () => Task.FromResult(Directory.GetFiles(failed).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()),
            names => names.Length == 4, diagnostics: _product.Logs);
        var second = Assert.Single(files, n => n!.StartsWith("twice.", StringComparison.Ordinal) && n != "twice.csv" && n.EndsWith(".csv", StringComparison.Ordinal));
        Assert.Contains(second + ".error.txt", files);
        Assert.Contains("empty", await File.ReadAllTextAsync(Path.Combine(failed, "twice.csv.error.txt")), StringComparison.Ordinal);
        Assert.DoesNotContain("empty", await File.ReadAllTextAsync(Path.Combine(failed, second + ".error.txt")), StringComparison.Ordinal);
        Assert.Equal("not,an,export", (await File.ReadAllTextAsync(Path.Combine(failed, second!))).Trim());
    }

    [Fact]
    public async Task A_file_named_with_an_escape_sequence_is_logged_with_its_control_characters_as_question_marks()
    {
        const string name = "empty\u001b[2K.csv";
        await File.WriteAllTextAsync(Path.Combine(_folder, name), "");

        await WaitForFileAsync(Path.Combine(_folder, "failed", name + ".error.txt"), TimeSpan.FromSeconds(30));
        await ProductUnderTest.EventuallyAsync(
            "the worker's log line about the failed file", () => Task.FromResult(_product.Logs()),
            logs => logs.Contains("POS export empty?[2K.csv failed: the CSV file is empty", StringComparison.Ordinal), diagnostics: _product.Logs);
        Assert.DoesNotContain('\u001b', _product.Logs());
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
            "20,000 rows of large.csv read before the kill",
            () => connection.ExecuteScalarAsync<long>("select coalesce(max(rows_read), 0) from perazzi_sync.pos_imports where file_name = 'large.csv'"),
            n => n >= 20_000, TimeSpan.FromSeconds(120), _product.Logs);
        Assert.True(read is >= 20_000 and < rows, $"killed at {read}\n{_product.Logs()}");
        await _product.Workers[0].DisposeAsync();
        await _product.StartWorkerAsync();

        await ProductUnderTest.EventuallyAsync(
            "the import of large.csv completed by the second worker",
            () => connection.ExecuteScalarAsync<string?>("select status from perazzi_sync.pos_imports where file_name = 'large.csv'"),
            s => s == "completed", TimeSpan.FromSeconds(180), _product.Logs);
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-K-%'"));
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>(
            "select count(*) from audit_log where action = 'service_event.upsert' and metadata->>'source_key' like 'WO-K-%'"));
        Assert.Equal(rows, await connection.ExecuteScalarAsync<long>("select applied from perazzi_sync.pos_imports where file_name = 'large.csv'"));
    }
}
