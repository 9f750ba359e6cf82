using System.Text.Json;
using PerazziSync.Pos.Records;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>What makes a POS record usable, and the reason given when it is not.</summary>
public sealed class PosRecordTests
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead);

    PosParseResult Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return _parser.FromJson(document.RootElement, json);
    }

    const string Valid = """{"source_record_id":"WO-1","serial_number":" mx8-1 ","status":"completed","updated_at":"2026-03-10T10:00:00Z","attachments":["a.jpg"]}""";

    [Fact]
    public void A_valid_record_keeps_its_payload_and_attachments()
    {
        var record = Parse(Valid).Record!;
        Assert.Equal("WO-1", record.SourceRecordId);
        Assert.Equal("mx8-1", record.SerialNumber);
        Assert.Equal(["a.jpg"], record.Attachments);
        Assert.Equal(Valid, record.RawPayload);
    }

    sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    [Theory]
    [InlineData("2026-11-28T13:00:00Z", null)]
    [InlineData("2026-11-28T14:00:00+01:00", null)]
    [InlineData("2026-11-28T13:00:00.000001Z", "updated_at '2026-11-28T13:00:00.000001Z' is more than 01:00:00 ahead of the time it was received, 2026-11-28T12:00:00Z (Pos:UpdatedAtMaxAhead)")]
    [InlineData("2062-11-28T12:00:00Z", "updated_at '2062-11-28T12:00:00Z' is more than 01:00:00 ahead")]
    [InlineData("9999-12-31T23:59:59Z", "updated_at '9999-12-31T23:59:59Z' is more than 01:00:00 ahead")]
    public void An_updated_at_further_ahead_of_the_time_it_is_received_than_the_tolerance_is_refused(string updatedAt, string? reason)
    {
        var parser = new PosRecordParser(TimeZoneInfo.Utc, new Clock(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero)), TimeSpan.FromHours(1));
        var json = Valid.Replace("2026-03-10T10:00:00Z", updatedAt, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json);

        var result = parser.FromJson(document.RootElement, json);

        if (reason is null)
        {
            Assert.True(result.Record is not null, result.Error);
        }
        else
        {
            Assert.Null(result.Record);
            Assert.StartsWith(reason, result.Error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Updated_at_is_the_version_in_whole_microseconds_as_PostgreSQL_stores_it()
    {
        var earlier = Parse(Valid.Replace("10:00:00Z", "10:00:00.1234561Z", StringComparison.Ordinal)).Record!;
        var later = Parse(Valid.Replace("10:00:00Z", "10:00:00.1234569Z", StringComparison.Ordinal)).Record!;

        Assert.Equal(new DateTimeOffset(2026, 3, 10, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560), earlier.UpdatedAt);
        Assert.Equal(earlier.UpdatedAt, later.UpdatedAt);
        Assert.Contains("10:00:00.1234569Z", later.RawPayload, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "source_record_id is missing")]
    [InlineData("""{"source_record_id":"WO-1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "serial_number is missing")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"shipped","updated_at":"2026-03-10T10:00:00Z"}""", "status 'shipped' is not one of")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed"}""", "updated_at is missing")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10"}""", "has no time of day")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","attachments":"a.jpg"}""", "attachments must be a list")]
    [InlineData("""{"source_record_id":"WO-\u0000","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "a NUL character")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","note":"\ud800"}""", "a lone UTF-16 surrogate")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","\u0000":1}""", "a NUL character")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","n":1e999999}""", "too large or too precise")]
    [InlineData("""{"source_record_id":"WO-\u001b[2K1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "source_record_id contains the control character U+001B")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-\t1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "serial_number contains the control character U+0009")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"x\u001b[2K","updated_at":"2026-03-10T10:00:00Z"}""", "status 'x?[2K' is not one of")]
    [InlineData("""{"source_record_id":"WO-\u202e1-OW","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "source_record_id contains the bidirectional formatting character U+202E")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-\u20661","status":"completed","updated_at":"2026-03-10T10:00:00Z"}""", "serial_number contains the bidirectional formatting character U+2066")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"x\u202edone","updated_at":"2026-03-10T10:00:00Z"}""", "status 'x?done' is not one of")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"0001-01-01T00:00:00Z"}""", "updated_at '0001-01-01T00:00:00Z' is not a time PostgreSQL can store as sent")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"0001-01-01T00:00:00.0000009Z"}""", "updated_at '0001-01-01T00:00:00.0000009Z' is not a time PostgreSQL can store as sent")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","service_date":"9999-12-31T23:59:59.9999999Z"}""", "service_date '9999-12-31T23:59:59.9999999Z' is not a time PostgreSQL can store as sent")]
    [InlineData("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T25:00:00Z"}""", "updated_at '2026-03-10T25:00:00Z' is not an ISO-8601 date-time")]
    public void A_record_that_cannot_be_used_says_why(string json, string reason)
    {
        var result = Parse(json);
        Assert.Null(result.Record);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replacement_character_in_a_record_is_a_character_since_its_bytes_are_checked_before_parsing()
    {
        const string json = """{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","work_summary":"M\ufffdller"}""";
        using var document = JsonDocument.Parse(json);
        var row = new Dictionary<string, string?>
        {
            ["source_record_id"] = "WO-2", ["serial_number"] = "MX8-1", ["status"] = "completed",
            ["updated_at"] = "2026-03-10T10:00:00Z", ["work_summary"] = "M\uFFFDller",
        };

        Assert.Equal("M\uFFFDller", _parser.FromJson(document.RootElement, json).Record!.WorkSummary);
        Assert.Equal("M\uFFFDller", _parser.FromCsv(row, "{}").Record!.WorkSummary);
    }

    [Fact]
    public void The_customer_identity_is_read_trimmed_and_a_blank_one_is_none()
    {
        var named = Parse("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","customer_email":"  Jane@Example.com ","customer_name":" Jane Doe "}""").Record!;
        var blank = Parse("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","customer_email":"  ","customer_name":null}""").Record!;
        var absent = Parse(Valid).Record!;

        Assert.Equal(("Jane@Example.com", "Jane Doe"), (named.CustomerEmail, named.CustomerName));
        Assert.Equal((null, null), (blank.CustomerEmail, blank.CustomerName));
        Assert.Equal((null, null), (absent.CustomerEmail, absent.CustomerName));
    }

    [Fact]
    public void A_customer_identity_that_is_not_text_makes_the_record_unusable()
    {
        var result = Parse("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","customer_email":["a@b.c"]}""");

        Assert.Null(result.Record);
        Assert.Equal("customer_email must be a string", result.Error);
    }

    [Fact]
    public void A_csv_row_carries_the_customer_identity_of_its_columns()
    {
        var row = new Dictionary<string, string?>
        {
            ["source_record_id"] = "WO-1", ["serial_number"] = "MX8-1", ["status"] = "completed", ["updated_at"] = "2026-03-10T10:00:00Z",
            ["customer_email"] = " owner@example.com", ["customer_name"] = "",
        };

        var record = _parser.FromCsv(row, "{}").Record!;

        Assert.Equal(("owner@example.com", (string?)null), (record.CustomerEmail, record.CustomerName));
    }

    [Fact]
    public void A_date_alone_is_a_service_date_but_not_a_version()
    {
        var record = Parse("""{"source_record_id":"WO-1","serial_number":"MX8-1","status":"completed","service_date":"2026-03-10","updated_at":"2026-03-10T10:00:00Z"}""").Record!;
        Assert.Equal(new DateTimeOffset(2026, 3, 9, 23, 0, 0, TimeSpan.Zero), record.ServiceDate);
    }

    [Fact]
    public void A_refused_record_id_and_reason_can_be_stored_whatever_the_record_held()
    {
        var result = Parse("""{"source_record_id":"WO-\u0000","serial_number":"MX8-1","status":"completed","updated_at":"2026-03-10T10:00:00Z","note":"\ud800"}""");
        Assert.Equal("WO-\uFFFD", result.SourceRecordId);
        Assert.Null(PerazziSync.Contracts.StorableText.Problem(result.SourceRecordId));
        Assert.Null(PerazziSync.Contracts.StorableText.Problem(result.Error));
    }
}
