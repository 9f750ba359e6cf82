using PerazziSync.Pos.Records;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>POS times: ISO-8601, and without an offset in the POS time zone (Europe/Rome by default).</summary>
public sealed class PosTimeTests
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead);

    [Theory]
    [InlineData("2026-03-10T10:00:00", "2026-03-10T09:00:00Z")]
    [InlineData("2026-03-10 10:00", "2026-03-10T09:00:00Z")]
    [InlineData("2026-07-10T10:00:00", "2026-07-10T08:00:00Z")]
    [InlineData("2026-03-10T10:00:00+05:00", "2026-03-10T05:00:00Z")]
    [InlineData("2026-03-10T10:00:00Z", "2026-03-10T10:00:00Z")]
    [InlineData("2026-03-10T10:00:00.1234567+0100", "2026-03-10T09:00:00.1234567Z")]
    public void A_time_without_an_offset_is_read_in_the_pos_time_zone_and_one_with_an_offset_keeps_it(string text, string utc) =>
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), _parser.ParseTime(text, out _));

    [Fact]
    public void A_wall_clock_time_that_does_not_exist_is_read_as_the_clocks_show_it_an_hour_later() =>
        // 2026-03-29 02:30 does not exist in Rome: clocks jump from 02:00 CET to 03:00 CEST.
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.Zero), _parser.ParseTime("2026-03-29T02:30:00", out _));

    [Theory]
    // Lord Howe Island sets its clocks forward half an hour, 02:00 to 02:30 (+10:30 to +11:00).
    [InlineData("Australia/Lord_Howe", "2026-10-04T02:15:00", "2026-10-03T15:45:00Z")]
    [InlineData("Australia/Lord_Howe", "2026-10-04T02:00:00", "2026-10-03T15:30:00Z")]
    // Samoa skipped 30 December 2011, from -10:00 to +14:00.
    [InlineData("Pacific/Apia", "2011-12-30T12:00:00", "2011-12-30T22:00:00Z")]
    [InlineData("Europe/Rome", "2026-03-29T02:59:59.9999999", "2026-03-29T01:59:59.9999999Z")]
    public void A_wall_clock_time_in_a_gap_is_read_with_the_offset_before_the_zones_own_jump(string zone, string text, string utc) =>
        Assert.Equal(
            DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture),
            new PosRecordParser(TimeZoneInfo.FindSystemTimeZoneById(zone), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead).ParseTime(text, out _));

    [Theory]
    // 2026-10-25 02:00 to 03:00 happens twice in Rome: first in CEST (+02:00), then in CET (+01:00).
    [InlineData("2026-10-25T02:30:00", "2026-10-25T00:30:00Z")]
    [InlineData("2026-10-25T02:00:00", "2026-10-25T00:00:00Z")]
    // Its last tick, which IsAmbiguousTime does not count as ambiguous.
    [InlineData("2026-10-25T02:59:59.9999999", "2026-10-25T00:59:59.9999999Z")]
    [InlineData("2026-10-25T03:00:00", "2026-10-25T02:00:00Z")]
    public void An_ambiguous_wall_clock_time_is_read_as_the_earlier_of_the_two(string text, string utc) =>
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), _parser.ParseTime(text, out _));

    [Theory]
    // Moscow moved its standard time back from +04:00 to +03:00 at 02:00 on 2014-10-26: 01:00 to
    // 02:00 happened twice. IsAmbiguousTime says none of it is ambiguous.
    [InlineData("Europe/Moscow", "2014-10-26T01:30:00", "2014-10-25T21:30:00Z")]
    [InlineData("Europe/Moscow", "2014-10-26T01:00:00", "2014-10-25T21:00:00Z")]
    [InlineData("Europe/Moscow", "2014-10-26T02:00:00", "2014-10-25T23:00:00Z")]
    // Volgograd did the same at 02:00 on 2020-12-27.
    [InlineData("Europe/Volgograd", "2020-12-27T01:59:59.9999999", "2020-12-26T21:59:59.9999999Z")]
    public void A_wall_clock_time_shown_twice_as_a_zone_moves_its_standard_time_back_is_read_as_the_earlier(string zone, string text, string utc) =>
        Assert.Equal(
            DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture),
            new PosRecordParser(TimeZoneInfo.FindSystemTimeZoneById(zone), TimeProvider.System, new PosOptions().UpdatedAtMaxAhead).ParseTime(text, out _));

    [Theory]
    [InlineData("10/03/2026")]
    [InlineData("2026-3-10")]
    [InlineData("2026-03-10T25:00:00")]
    [InlineData("not a date")]
    [InlineData("2026-03-10T10:00:00+14:01")]
    [InlineData("2026-03-10T10:00:00+01:60")]
    public void Anything_else_is_not_a_time(string text)
    {
        Assert.Null(_parser.ParseTime(text, out var unstorable));
        Assert.False(unstorable);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("0001-01-01T00:00:00.0000001Z")]
    [InlineData("0001-01-01")]
    [InlineData("0001-01-01T00:00")]
    [InlineData("0001-01-01T00:30:00+01:00")]
    [InlineData("9999-12-31T23:59:59.9999999Z")]
    [InlineData("9999-12-31T23:00:00-05:00")]
    public void A_time_at_or_beyond_the_ends_of_the_calendar_is_one_postgresql_cannot_store_as_sent(string text)
    {
        Assert.Null(_parser.ParseTime(text, out var unstorable));
        Assert.True(unstorable);
    }

    [Fact]
    public void The_times_next_to_the_ends_of_the_calendar_are_read()
    {
        Assert.Equal(DateTimeOffset.MinValue.AddTicks(10), _parser.ParseTime("0001-01-01T00:00:00.000001Z", out _));
        Assert.Equal(DateTimeOffset.MaxValue.AddTicks(-1), _parser.ParseTime("9999-12-31T23:59:59.9999998Z", out _));
    }
}
