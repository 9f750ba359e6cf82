using PerazziSync.Pos.Records;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>POS times: ISO-8601, and without an offset in the POS time zone (Europe/Rome by default).</summary>
public sealed class PosTimeTests
{
    readonly PosRecordParser _parser = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Rome"));

    [Theory]
    [InlineData("2026-03-10T10:00:00", "2026-03-10T09:00:00Z")]
    [InlineData("2026-03-10 10:00", "2026-03-10T09:00:00Z")]
    [InlineData("2026-07-10T10:00:00", "2026-07-10T08:00:00Z")]
    [InlineData("2026-03-10T10:00:00+05:00", "2026-03-10T05:00:00Z")]
    [InlineData("2026-03-10T10:00:00Z", "2026-03-10T10:00:00Z")]
    [InlineData("2026-03-10T10:00:00.1234567+0100", "2026-03-10T09:00:00.1234567Z")]
    public void A_time_without_an_offset_is_read_in_the_pos_time_zone_and_one_with_an_offset_keeps_it(string text, string utc) =>
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), _parser.ParseTime(text));

    [Fact]
    public void A_wall_clock_time_that_does_not_exist_is_read_as_the_clocks_show_it_an_hour_later() =>
        // 2026-03-29 02:30 does not exist in Rome: clocks jump from 02:00 CET to 03:00 CEST.
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.Zero), _parser.ParseTime("2026-03-29T02:30:00"));

    [Fact]
    public void An_ambiguous_wall_clock_time_is_read_as_the_earlier_of_the_two() =>
        // 2026-10-25 02:30 happens twice in Rome: first in CEST (+02:00), then in CET (+01:00).
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), _parser.ParseTime("2026-10-25T02:30:00"));

    [Theory]
    [InlineData("10/03/2026")]
    [InlineData("2026-3-10")]
    [InlineData("2026-03-10T25:00:00")]
    [InlineData("not a date")]
    [InlineData("0001-01-01T00:00")]
    public void Anything_else_is_not_a_time(string text) => Assert.Null(_parser.ParseTime(text));
}
