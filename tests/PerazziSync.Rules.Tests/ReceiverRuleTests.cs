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
