using System.Text;
using PerazziSync.Cli.DeadLetters;
using RabbitMQ.Client;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Which dead letters the Cli's filters select: every criterion given must hold.</summary>
public sealed class DeadLetterFilterTests
{
    static DeadLetter Letter(string id, string type, string exception, string message, DateTimeOffset faultedAt)
    {
        var properties = new BasicProperties
        {
            MessageId = id,
            Headers = new Dictionary<string, object?>
            {
                ["MT-Fault-ExceptionType"] = Encoding.UTF8.GetBytes(exception),
                ["MT-Fault-Message"] = Encoding.UTF8.GetBytes(message),
                ["MT-Fault-MessageType"] = Encoding.UTF8.GetBytes($"urn:message:PerazziSync.Contracts:{type}"),
                ["MT-Fault-Timestamp"] = Encoding.UTF8.GetBytes(faultedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
            },
        };
        return DeadLetter.From("big-commerce-order-changed_error",
            new BasicGetResult(1, false, "", "", 0, properties, """{"message":{"orderId":218}}"""u8.ToArray()));
    }

    static readonly DateTimeOffset Noon = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    readonly DeadLetter _order = Letter("A1", "BigCommerceOrderChanged", "PerazziSync.BigCommerce.Records.BigCommercePayloadException", "\"date_created\" is not an RFC 2822 date", Noon);
    readonly DeadLetter _customer = Letter("B2", "BigCommerceCustomerChanged", "System.InvalidOperationException", "boom", Noon.AddHours(2));

    [Fact]
    public void No_criterion_selects_everything() =>
        Assert.True(new DeadLetterFilter().Matches(_order) && new DeadLetterFilter().Matches(_customer));

    [Fact]
    public void Each_criterion_narrows_the_selection()
    {
        Assert.Equal(["A1"], Select(new DeadLetterFilter(MessageType: "bigcommerceorderchanged")));
        Assert.Equal(["A1"], Select(new DeadLetterFilter(ExceptionText: "rfc 2822")));
        Assert.Equal(["B2"], Select(new DeadLetterFilter(ExceptionText: "InvalidOperation")));
        Assert.Equal(["B2"], Select(new DeadLetterFilter(Since: Noon.AddHours(1))));
        Assert.Equal(["A1"], Select(new DeadLetterFilter(Until: Noon.AddHours(1))));
        Assert.Equal(["B2"], Select(new DeadLetterFilter(MessageIds: new HashSet<string>(["b2"], StringComparer.OrdinalIgnoreCase))));
        Assert.Empty(Select(new DeadLetterFilter(MessageType: "BigCommerceOrderChanged", Since: Noon.AddHours(1))));
    }

    List<string?> Select(DeadLetterFilter filter) =>
        new[] { _order, _customer }.Where(filter.Matches).Select(l => l.MessageId).ToList();
}
