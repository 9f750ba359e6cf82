using System.Text;
using Microsoft.AspNetCore.Http;
using PerazziSync.Receiver.Webhooks;
using StandardWebhooks;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>The receiver's rules for delivery ids and Standard Webhooks headers.</summary>
public sealed class ReceiverRuleTests
{
    [Fact]
    public void A_delivery_id_is_the_same_message_id_on_its_route_and_another_on_another_route()
    {
        var first = DeliveryIds.MessageId("bigcommerce", "msg_1");

        Assert.Equal(first, DeliveryIds.MessageId("bigcommerce", "msg_1"));
        Assert.NotEqual(first, DeliveryIds.MessageId("pos", "msg_1"));
        Assert.NotEqual(first, DeliveryIds.MessageId("bigcommerce", "msg_2"));
        Assert.Equal(8, first.Version);
    }

    static readonly string Secret = Convert.ToBase64String(Encoding.UTF8.GetBytes("rules-secret"));
    // The signature library checks the timestamp against the clock as well.
    static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    static readonly byte[] Body = """{"scope":"store/order/created","data":{"id":1}}"""u8.ToArray();

    static HeaderDictionary Signed(string id = "msg_1", DateTimeOffset? at = null) => new()
    {
        ["webhook-id"] = id,
        ["webhook-timestamp"] = (at ?? Now).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["webhook-signature"] = new StandardWebhook(Secret).Sign(id, at ?? Now, Encoding.UTF8.GetString(Body)),
    };

    [Fact]
    public void A_genuine_signature_holds_within_five_minutes()
    {
        var signature = new WebhookSignature(Secret);

        Assert.Null(signature.Verify(Body, Signed(), Now.AddMinutes(4), out var signedAt));
        Assert.Equal(Now, signedAt);
        Assert.Contains("more than 5 minutes old", signature.Verify(Body, Signed(), Now.AddMinutes(6), out _), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("webhook-signature", "v1,", "version,base64")]
    [InlineData("webhook-signature", "v1", "version,base64")]
    [InlineData("webhook-signature", ",", "version,base64")]
    [InlineData("webhook-signature", "   ", "is empty")]
    [InlineData("webhook-signature", "v2,YWJj", "no v1")]
    [InlineData("webhook-signature", "v1,!!!", "not base64")]
    [InlineData("webhook-signature", "v1,YWJj", "32 bytes")]
    [InlineData("webhook-signature", "v1,é", "printable ASCII")]
    [InlineData("webhook-timestamp", "-1", "Unix time")]
    [InlineData("webhook-timestamp", "99999999999999999999", "Unix time")]
    [InlineData("webhook-timestamp", "", "is empty")]
    [InlineData("webhook-id", "", "is empty")]
    [InlineData("webhook-id", "two words", "printable ASCII")]
    public void A_malformed_header_is_a_reason_not_an_exception(string header, string value, string reason)
    {
        var headers = Signed();
        headers[header] = value;

        Assert.Contains(reason, new WebhookSignature(Secret).Verify(Body, headers, Now, out _), StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_sent_twice_is_refused()
    {
        var headers = Signed();
        headers["webhook-id"] = new Microsoft.Extensions.Primitives.StringValues(["msg_1", "msg_1"]);

        Assert.Contains("must be sent once", new WebhookSignature(Secret).Verify(Body, headers, Now, out _), StringComparison.Ordinal);
    }

    [Fact]
    public void The_shared_header_is_compared_whole()
    {
        Assert.True(WebhookSignature.SharedHeaderMatches("s3cret", "s3cret"));
        Assert.False(WebhookSignature.SharedHeaderMatches("s3cret", "s3cre"));
        Assert.False(WebhookSignature.SharedHeaderMatches("s3cret", null));
    }
}

/// <summary>The receiver's memory of confirmed deliveries, which answers their replays.</summary>
public sealed class ConfirmedDeliveriesTests
{
    static readonly DateTimeOffset SignedAt = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    static ConfirmedDeliveries Memory(int capacity, TimeProvider clock) =>
        new(Microsoft.Extensions.Options.Options.Create(new ReceiverOptions { RememberedDeliveries = capacity }), clock);

    [Fact]
    public void A_delivery_is_remembered_on_its_route_until_its_signature_can_no_longer_be_replayed()
    {
        var clock = new Clock(SignedAt.AddSeconds(1));
        var memory = Memory(1_000, clock);

        memory.Remember("bigcommerce", "msg_1", SignedAt);

        Assert.True(memory.Contains("bigcommerce", "msg_1"));
        Assert.False(memory.Contains("pos", "msg_1"));
        Assert.False(memory.Contains("bigcommerce", "msg_2"));
        // The tolerance of five minutes, and a minute for the clocks.
        clock.Now = SignedAt.AddMinutes(6).AddSeconds(-1);
        Assert.True(memory.Contains("bigcommerce", "msg_1"));
        clock.Now = SignedAt.AddMinutes(6);
        Assert.False(memory.Contains("bigcommerce", "msg_1"));
    }

    [Fact]
    public void Once_full_the_oldest_remembered_is_forgotten_for_each_new_one()
    {
        var memory = Memory(3, new Clock(SignedAt));

        foreach (var id in new[] { "a", "b", "c", "a", "d" })
        {
            memory.Remember("pos", id, SignedAt);
        }

        // "a" was remembered again after "b": "b" is the oldest when "d" comes.
        Assert.Equal([("a", true), ("b", false), ("c", true), ("d", true)], Remembered(memory, "a", "b", "c", "d"));
        memory.Remember("pos", "e", SignedAt);
        memory.Remember("pos", "f", SignedAt);
        Assert.Equal([("a", false), ("c", false), ("d", true), ("e", true), ("f", true)], Remembered(memory, "a", "c", "d", "e", "f"));
    }

    static List<(string, bool)> Remembered(ConfirmedDeliveries memory, params string[] ids) =>
        [.. ids.Select(id => (id, memory.Contains("pos", id)))];
}
