using System.Text.Json;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Sync;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>BigCommerce payloads parsed exactly, and the rule that lets a fetch cover a callback.</summary>
public sealed class BigCommerceRecordTests
{
    static BigCommerceOrder Order(string fields)
    {
        using var document = JsonDocument.Parse($$"""{"id":218,"customer_id":11{{fields}}}""");
        return BigCommerceOrder.Parse(document.RootElement.Clone());
    }

    [Theory]
    [InlineData("Tue, 05 Mar 2019 21:40:11 +0000", "2019-03-05T21:40:11Z")]
    [InlineData("Tue, 5 Mar 2019 22:40:11 +0100", "2019-03-05T21:40:11Z")]
    [InlineData(" 5 Mar 2019 21:40:11 +0000 ", "2019-03-05T21:40:11Z")]
    public void Order_dates_are_read_as_rfc_2822(string text, string utc) =>
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), Order($$""","date_created":"{{text}}" """).DateCreated);

    [Fact]
    public void An_empty_date_is_no_date_and_a_bad_one_is_a_payload_that_can_never_be_applied()
    {
        Assert.Null(Order(""","date_modified":"" """).DateModified);
        Assert.Throws<BigCommercePayloadException>(() => Order(""","date_created":"not a date" """));
    }

    [Theory]
    [InlineData("\"69.8400\"", "69.8400")]
    [InlineData("1008.74", "1008.74")]
    [InlineData("\"-0.01\"", "-0.01")]
    [InlineData("\"12345678901234567890.1234\"", "12345678901234567890.1234")]
    public void Money_is_an_exact_decimal(string json, string expected) =>
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Order($$""","total_inc_tax":{{json}}""").TotalIncTax);

    [Fact]
    public void Money_that_is_not_an_amount_can_never_be_applied() =>
        Assert.Throws<BigCommercePayloadException>(() => Order(""","total_inc_tax":"1e3" """));

    [Fact]
    public void A_guest_order_has_customer_zero()
    {
        using var document = JsonDocument.Parse("""{"id":5,"customer_id":0}""");
        Assert.Equal(0, BigCommerceOrder.Parse(document.RootElement).CustomerId);
    }

    static readonly DateTimeOffset Received = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Skew = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void Only_a_fetch_that_started_after_the_callback_arrived_covers_it()
    {
        Assert.False(Coalescing.IsCovered(null, Received, Skew));
        Assert.False(Coalescing.IsCovered(Received.AddMinutes(-1), Received, Skew));
        Assert.False(Coalescing.IsCovered(Received, Received, Skew));
        // Within the clock skew a fetch may have started before the callback was received.
        Assert.False(Coalescing.IsCovered(Received.AddMilliseconds(200), Received, Skew));
        Assert.True(Coalescing.IsCovered(Received.AddMilliseconds(300), Received, Skew));
    }
}
