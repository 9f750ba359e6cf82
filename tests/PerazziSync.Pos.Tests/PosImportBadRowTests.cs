using System.Text;
using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Pos.Tests;

/// <summary>`pos import` of rows PostgreSQL cannot store: each one a rejected line with its reason, never a failed chunk.</summary>
public sealed class PosImportBadRowTests
{
    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    static async Task<(int ExitCode, string Output)> ImportAsync(TestDatabase database, string extension, byte[] content, int chunkSize = 5000)
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-rows-{Guid.NewGuid():N}.{extension}");
        await File.WriteAllBytesAsync(path, content);
        try
        {
            return await HostProcess.RunAsync("PerazziSync.Cli", new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = database.ConnectionString,
                ["Pos__ImportChunkSize"] = chunkSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, "pos", "import", path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    static string CsvRow(string id, string status = "completed", string serial = "HT-009871", string summary = "ok", string updatedAt = "2026-03-15T09:00:00+01:00") =>
        $"{id},{serial},{status},2026-03-14T16:00:00+01:00,{summary},,{updatedAt}";

    static string JsonRow(string id, string extra = "", string updatedAt = "2026-03-15T09:00:00+01:00") =>
        $$"""{"source_record_id":"{{id}}","serial_number":"HT-009871","status":"completed","updated_at":"{{updatedAt}}"{{extra}}}""";

    /// <summary>The rejections of the database's one import.</summary>
    static async Task<List<(long Line, string? SourceRecordId, string Reason)>> RejectionsAsync(TestDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return await ServiceEvents.RejectionsWithIdsAsync(connection, await FileNameAsync(database));
    }

    static async Task<string> FileNameAsync(TestDatabase database)
    {
        await using var connection = await database.OpenAsync();
        return await connection.QuerySingleAsync<string>("select file_name from perazzi_sync.pos_imports");
    }

    [Fact]
    public async Task Nul_characters_anywhere_in_a_csv_row_reject_that_row_and_the_file_completes()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var csv = string.Join('\n',
            Header,
            CsvRow("WO-N-01"),
            CsvRow("WO-N-\002", status: "shipped"),
            CsvRow("WO-N-03", summary: "springs\0replaced"),
            CsvRow("WO-N-04", serial: "HT-0\09871"),
            CsvRow("WO-N-05"),
            CsvRow("WO-N-06", status: "compl\0eted"),
            CsvRow("WO-N-07")) + "\n";

        var (exitCode, output) = await ImportAsync(database, "csv", Encoding.UTF8.GetBytes(csv));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        Assert.Equal(["WO-N-01", "WO-N-05", "WO-N-07"], (await ServiceEvents.AllAsync(connection)).Keys.Order());
        var rejections = await RejectionsAsync(database);
        Assert.Equal([3L, 4L, 5L, 7L], rejections.Select(r => r.Line));
        Assert.All(rejections, r => Assert.Contains("NUL", r.Reason, StringComparison.Ordinal));
        // The id as received, with the NUL it cannot keep replaced.
        Assert.Equal("WO-N-\uFFFD02", rejections[0].SourceRecordId);
        Assert.Equal(["WO-N-03", "WO-N-04", "WO-N-06"], rejections.Skip(1).Select(r => r.SourceRecordId));
        Assert.Equal(new ServiceEvents.Import(7, 3, 0, 0, 0, 0, 4, "completed"), await ServiceEvents.ImportAsync(connection, await FileNameAsync(database)));
    }

    [Fact]
    public async Task Ndjson_values_jsonb_cannot_hold_reject_their_line_with_the_reason_and_the_good_lines_apply()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var lines = new[]
        {
            JsonRow("WO-J-01"),
            JsonRow("WO-J-\\u000002"),
            JsonRow("WO-J-03", extra: ",\"note\\u0000\":\"x\""),
            JsonRow("WO-J-04", extra: ",\"note\":\"half a pair \\ud800\""),
            JsonRow("WO-J-05\\udc00"),
            JsonRow("WO-J-06", extra: ",\"weight\":1e999999"),
            JsonRow("WO-J-07", extra: ",\"\\udbff\":[1,2]"),
            JsonRow("WO-J-08", extra: ",\"ratio\":1e-20000"),
            JsonRow("WO-J-09\0"),
            // Not a NUL: a backslash followed by u0000, which jsonb stores as it is.
            JsonRow("WO-J-10", extra: ",\"path\":\"C:\\\\u0000\""),
            JsonRow("WO-J-11", extra: ",\"pair\":\"\\ud83d\\ude00\",\"weight\":1.5e300"),
            // Midnight of year 1 in Rome is before the first instant .NET can hold, and in UTC it
            // is that instant, which would be stored as -infinity.
            JsonRow("WO-J-12", updatedAt: "0001-01-01T00:00:00"),
            JsonRow("WO-J-13", updatedAt: "0001-01-01T00:00:00Z"),
        };

        var (exitCode, output) = await ImportAsync(database, "ndjson", Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        var events = await ServiceEvents.AllAsync(connection);
        Assert.Equal(["WO-J-01", "WO-J-10", "WO-J-11"], events.Keys.Order());
        Assert.Contains("😀", events["WO-J-11"].RawPayload, StringComparison.Ordinal);
        var rejections = await RejectionsAsync(database);
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 12L, 13L], rejections.Select(r => r.Line));
        Assert.Contains("NUL", rejections[0].Reason, StringComparison.Ordinal);
        Assert.Equal("WO-J-\uFFFD02", rejections[0].SourceRecordId);
        Assert.Contains("NUL", rejections[1].Reason, StringComparison.Ordinal);
        Assert.Contains("surrogate", rejections[2].Reason, StringComparison.Ordinal);
        Assert.Contains("surrogate", rejections[3].Reason, StringComparison.Ordinal);
        Assert.Contains("1e999999", rejections[4].Reason, StringComparison.Ordinal);
        Assert.Contains("surrogate", rejections[5].Reason, StringComparison.Ordinal);
        Assert.Contains("1e-20000", rejections[6].Reason, StringComparison.Ordinal);
        Assert.Contains("not JSON", rejections[7].Reason, StringComparison.Ordinal);
        Assert.All(rejections[8..], r => Assert.Contains("is not a time PostgreSQL can store as sent", r.Reason, StringComparison.Ordinal));
        Assert.Equal(new ServiceEvents.Import(13, 3, 0, 0, 0, 0, 10, "completed"), await ServiceEvents.ImportAsync(connection, await FileNameAsync(database)));
    }

    [Fact]
    public async Task A_replacement_character_an_export_holds_is_applied_and_a_line_saved_in_latin1_is_rejected()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        // Line 2 holds U+FFFD as UTF-8 (EF BF BD); line 3 "Müller" as Latin-1 writes it (FC).
        byte[] ndjson =
        [
            .. Encoding.UTF8.GetBytes(JsonRow("WO-U-01") + "\n" + JsonRow("WO-U-02", extra: ",\"work_summary\":\"Stock for M\uFFFDller\"") + "\n"),
            .. Encoding.Latin1.GetBytes(JsonRow("WO-U-03", extra: ",\"work_summary\":\"Stock for Müller\"") + "\n"),
        ];

        var (exitCode, output) = await ImportAsync(database, "ndjson", ndjson);

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        var events = await ServiceEvents.AllAsync(connection);
        Assert.Equal(["WO-U-01", "WO-U-02"], events.Keys.Order());
        Assert.Equal("Stock for M\uFFFDller", events["WO-U-02"].WorkSummary);
        Assert.Equal([(3L, "WO-U-03", "the record is not valid UTF-8 text")], await RejectionsAsync(database));
    }

    [Fact]
    public async Task An_updated_at_without_a_time_of_day_is_rejected_while_a_date_only_service_date_is_accepted()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        var csv = string.Join('\n',
            Header,
            CsvRow("WO-D-01", updatedAt: "2026-03-10"),
            "WO-D-02,HT-009871,completed,2026-03-10,ok,,2026-03-10T18:00:00",
            CsvRow("WO-D-03", updatedAt: "2026-03-10T18:00")) + "\n";

        var (exitCode, output) = await ImportAsync(database, "csv", Encoding.UTF8.GetBytes(csv));

        Assert.True(exitCode == 0, output);
        await using var connection = await database.OpenAsync();
        Assert.Equal(["WO-D-02", "WO-D-03"], (await ServiceEvents.AllAsync(connection)).Keys.Order());
        var rejection = Assert.Single(await RejectionsAsync(database));
        Assert.Equal(2, rejection.Line);
        Assert.Contains("updated_at", rejection.Reason, StringComparison.Ordinal);
        Assert.Contains("time of day", rejection.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_the_database_refuses_is_rejected_with_the_error_and_the_rest_of_its_chunk_applied()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        await using (var connection = await database.OpenAsync())
        {
            // Stands for any value the parser lets through and PostgreSQL refuses (SQLSTATE class 22).
            await connection.ExecuteAsync("""
                create function public.refuse_poison() returns trigger language plpgsql as $$
                begin
                  if new.source_record_id like 'WO-POISON-%' then
                    raise exception 'invalid value in %', new.source_record_id using errcode = '22023';
                  end if;
                  return new;
                end $$;
                create trigger refuse_poison before insert on service_events for each row execute function public.refuse_poison();
                """);
        }
        var rows = Enumerable.Range(2, 300).Select(line => line switch
        {
            50 or 251 or 252 => CsvRow($"WO-POISON-{line}"),
            _ => CsvRow($"WO-R-{line:D3}"),
        });

        var (exitCode, output) = await ImportAsync(database, "csv", Encoding.UTF8.GetBytes(string.Join('\n', [Header, .. rows]) + "\n"), chunkSize: 100);

        Assert.True(exitCode == 0, output);
        await using var check = await database.OpenAsync();
        Assert.Equal(297, await check.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id like 'WO-R-%'"));
        Assert.Equal(297, await ServiceEvents.AuditCountAsync(check));
        var rejections = await RejectionsAsync(database);
        Assert.Equal([50L, 251L, 252L], rejections.Select(r => r.Line));
        Assert.All(rejections, r => Assert.Contains($"invalid value in {r.SourceRecordId}", r.Reason, StringComparison.Ordinal));
        Assert.Equal(new ServiceEvents.Import(300, 297, 0, 0, 0, 0, 3, "completed"), await ServiceEvents.ImportAsync(check, await FileNameAsync(database)));
    }
}
