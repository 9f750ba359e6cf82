using System.Text;
using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Reading POS exports from memory: line numbers, broken quoting, records over the limit.</summary>
public sealed class ExportReaderTests
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead);

    const string Header = "source_record_id,serial_number,status,service_date,work_summary,attachments,updated_at";

    Task<List<PosExportRow>> ReadAsync(string format, string content) => ReadAsync(format, Encoding.UTF8.GetBytes(content));

    async Task<List<PosExportRow>> ReadAsync(string format, byte[] content)
    {
        await using var stream = new MemoryStream(content);
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

    /// <summary><paramref name="text"/> as UTF-8, each U+E000 in it written as the byte 0xFC, which no UTF-8 text holds.</summary>
    static byte[] NotUtf8(string text) =>
        [.. text.Split('\uE000').Select(Encoding.UTF8.GetBytes).Aggregate((before, after) => [.. before, 0xFC, .. after])];

    [Fact]
    public async Task A_replacement_character_written_in_an_export_is_read_and_bytes_that_are_not_utf8_are_refused_by_their_line()
    {
        var ndjson = await ReadAsync("ndjson", NotUtf8(
            "{\"source_record_id\":\"WO-1\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\",\"work_summary\":\"M\uFFFDller\"}\n" +
            "{\"source_record_id\":\"WO-2\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\",\"work_summary\":\"M\uE000ller\"}\r\n" +
            "{\"source_record_id\":\"WO-3\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\"}"));
        var csv = await ReadAsync("csv", NotUtf8(
            $"{Header}\r\nWO-1,MX8-1,completed,,M\uFFFDller,,2026-03-10T10:00:00Z\n" +
            "WO-2,MX8-1,completed,,\"two\nlines, M\uE000ller\",,2026-03-10T10:00:00Z\n" +
            $"{Row(3)}\nWO-\uE0004,MX8-1\n"));

        Assert.Equal([1L, 2L, 3L], ndjson.Select(r => r.Line));
        Assert.Equal("M\uFFFDller", ndjson[0].Result.Record!.WorkSummary);
        Assert.Equal((null, "WO-2", "the record is not valid UTF-8 text"), (ndjson[1].Result.Record, ndjson[1].Result.SourceRecordId, ndjson[1].Result.Error));
        Assert.Equal("WO-3", ndjson[2].Result.Record!.SourceRecordId);
        Assert.Equal([2L, 3L, 5L, 6L], csv.Select(r => r.Line));
        Assert.Equal("M\uFFFDller", csv[0].Result.Record!.WorkSummary);
        Assert.Equal((null, "WO-2", "the record is not valid UTF-8 text"), (csv[1].Result.Record, csv[1].Result.SourceRecordId, csv[1].Result.Error));
        Assert.Equal("WO-3", csv[2].Result.Record!.SourceRecordId);
        Assert.Equal(("WO-?4", "the record is not valid UTF-8 text"), (csv[3].Result.SourceRecordId, csv[3].Result.Error));
    }

    [Fact]
    public async Task A_csv_header_whose_bytes_are_not_utf8_is_refused()
    {
        var refused = await Assert.ThrowsAsync<PosExportException>(
            () => ReadAsync("csv", NotUtf8("source_record_id,serial_number,status,updated_at,note\uE000\nWO-1,MX8-1,completed,2026-03-10T10:00:00Z,x\n")));

        Assert.Equal("the CSV header is not valid UTF-8 text", refused.Message);
    }

    [Theory]
    [InlineData("csv", "utf-16")]
    [InlineData("ndjson", "utf-16")]
    [InlineData("csv", "utf-16BE")]
    [InlineData("ndjson", "utf-32")]
    [InlineData("csv", "utf-32BE")]
    public async Task An_export_saved_as_utf16_or_utf32_is_refused_saying_so(string format, string encoding)
    {
        var text = Encoding.GetEncoding(encoding);
        var content = format == "csv"
            ? $"{Header}\nWO-1,MX8-1,completed,,Müller,,2026-03-10T10:00:00Z\n"
            : "{\"source_record_id\":\"WO-1\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\",\"work_summary\":\"Müller\"}\n";

        var refused = await Assert.ThrowsAsync<PosExportException>(() => ReadAsync(format, [.. text.GetPreamble(), .. text.GetBytes(content)]));

        Assert.StartsWith("the file is UTF-16 or UTF-32 (its byte-order mark says so)", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("csv", "utf-16")]
    [InlineData("ndjson", "utf-16")]
    [InlineData("csv", "utf-16BE")]
    [InlineData("ndjson", "utf-16BE")]
    [InlineData("csv", "utf-32")]
    [InlineData("ndjson", "utf-32BE")]
    public async Task An_export_saved_as_utf16_or_utf32_without_a_byte_order_mark_is_refused_whole_saying_so(string format, string encoding)
    {
        var content = format == "csv"
            ? $"{Header}\nWO-1,MX8-1,completed,,Müller,,2026-03-10T10:00:00Z\n"
            : "{\"source_record_id\":\"WO-1\",\"serial_number\":\"MX8-1\",\"status\":\"completed\",\"updated_at\":\"2026-03-10T10:00:00Z\"}\n";

        var refused = await Assert.ThrowsAsync<PosExportException>(() => ReadAsync(format, Encoding.GetEncoding(encoding).GetBytes(content)));

        Assert.StartsWith("the file looks like UTF-16 or UTF-32 without a byte-order mark", refused.Message, StringComparison.Ordinal);
    }
}
