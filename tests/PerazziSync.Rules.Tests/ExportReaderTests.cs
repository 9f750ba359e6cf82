using System.Text;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Reading POS exports from memory: line numbers, broken quoting, records over the limit.</summary>
public sealed class ExportReaderTests
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"));

    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    async Task<List<PosExportRow>> ReadAsync(string format, string content)
    {
        await using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        var rows = new List<PosExportRow>();
        await foreach (var row in PosExportReader.ReadAsync(stream, format, _parser, CancellationToken.None))
        {
            rows.Add(row);
        }
        return rows;
    }

    static string Row(int i) => $"WO-{i},MX8-1,completed,,\"summary, {i}\",,2026-03-10T10:00:00Z";

    [Theory]
    [InlineData("")]
    [InlineData("\n\r\n\n")]
    public async Task A_csv_file_without_even_its_header_is_refused_as_empty(string content)
    {
        var refused = await Assert.ThrowsAsync<PosExportException>(() => ReadAsync("csv", content));

        Assert.Contains("empty", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_csv_file_of_its_header_alone_and_an_empty_ndjson_file_hold_no_rows()
    {
        Assert.Empty(await ReadAsync("csv", Header + "\n"));
        Assert.Empty(await ReadAsync("ndjson", ""));
    }

    [Theory]
    [InlineData("source_record_id,serial_number,status,updated_at,status", "'status' 2 times")]
    [InlineData("source_record_id,serial_number,status,updated_at,note, note ,note", "'note' 3 times")]
    public async Task A_csv_header_naming_a_column_more_than_once_is_refused_naming_it(string header, string named)
    {
        var refused = await Assert.ThrowsAsync<PosExportException>(
            () => ReadAsync("csv", $"{header}\nWO-1,MX8-1,completed,2026-03-10T10:00:00Z,received,x,y\n"));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Columns_without_a_name_that_trailing_commas_make_are_no_columns_named_twice()
    {
        var rows = await ReadAsync("csv", "source_record_id,serial_number,status,updated_at,,\nWO-1,MX8-1,completed,2026-03-10T10:00:00Z,,\n");

        Assert.Equal("WO-1", Assert.Single(rows).Result.Record!.SourceRecordId);
    }

    [Fact]
    public async Task A_quoted_field_over_several_lines_is_one_row_numbered_by_the_line_it_starts_on()
    {
        var rows = await ReadAsync("csv", $"{Header}\n{Row(1)}\nWO-2,MX8-1,completed,,\"two\nlines\",,2026-03-10T10:00:00Z\n{Row(3)}\n");

        Assert.Equal([2L, 3L, 5L], rows.Select(r => r.Line));
        Assert.Equal("two\nlines", rows[1].Result.Record!.WorkSummary);
    }

    [Fact]
    public async Task An_unclosed_quote_costs_the_row_it_opens_and_the_rows_after_it_are_read()
    {
        // The rows after it hold no quote that would close it.
        var rows = await ReadAsync("csv", $"{Header}\n{Row(1)}\nWO-2,MX8-1,completed,,\"never closed,,2026-03-10T10:00:00Z\n" +
            "WO-3,MX8-1,completed,,plain,,2026-03-10T10:00:00Z\nWO-4,MX8-1,completed,,plain,,2026-03-10T10:00:00Z\n");

        Assert.Equal(["WO-1", "WO-3", "WO-4"], rows.Where(r => r.Result.Record is not null).Select(r => r.Result.Record!.SourceRecordId));
        var refused = Assert.Single(rows, r => r.Result.Record is null);
        Assert.Equal(3, refused.Line);
    }

    [Fact]
    public async Task A_line_longer_than_the_limit_is_refused_by_its_number_and_reading_goes_on()
    {
        var huge = "{\"source_record_id\":\"WO-2\",\"work_summary\":\"" + new string('x', BoundedRecordStream.MaxRecordBytes) + "\"}";
        var rows = await ReadAsync("ndjson",
            "{\"source_record_id\":\"WO-1\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\"}\n" +
            huge + "\n" +
            "{\"source_record_id\":\"WO-3\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\"}\n");

        Assert.Equal(["WO-1", "WO-3"], rows.Where(r => r.Result.Record is not null).Select(r => r.Result.Record!.SourceRecordId));
        var refused = Assert.Single(rows, r => r.Result.Record is null);
        Assert.Equal(2, refused.Line);
        Assert.Contains(BoundedRecordStream.Limit, refused.Result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_row_with_the_wrong_number_of_fields_is_refused_with_both_counts()
    {
        var rows = await ReadAsync("csv", $"{Header}\nWO-1,MX8-1,completed\n{Row(2)}\n");

        Assert.Equal("the row has 3 fields, the header 7", rows[0].Result.Error);
        Assert.NotNull(rows[1].Result.Record);
    }
}
