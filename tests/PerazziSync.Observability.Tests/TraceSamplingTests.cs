using System.Net;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Observability.Tests;

/// <summary>
/// The receiver as deployed, exporting over OTLP: <c>Tracing__SampleRatio</c> decides which
/// ordinary traces leave the process; a failed request's trace always does.
/// </summary>
public sealed class TraceSamplingTests
{
    /// <summary>A string of the publish span, which only an accepted callback's trace holds.</summary>
    const string PublishSpan = "BigCommerceOrderChanged";

    const string Route = "/webhooks/bigcommerce";

    [Theory]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public async Task A_rejected_callbacks_trace_is_exported_at_any_ratio_and_accepted_ones_as_the_ratio_says(string ratio, bool acceptedExported)
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var product = await ProductUnderTest.StartAsync(workers: 0,
            settings: new Dictionary<string, string>(collector.Settings)
            {
                ["Tracing__SampleRatio"] = ratio,
                // Exported at once rather than every 5 s.
                ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
                // No request counts as slow, however busy the machine (a cold receiver's first one
                // can take over the default 0.5 s): only the ratio and the failure decide here.
                ["Tracing__SlowerThan"] = "00:01:00",
            });

        // A queue to take the accepted callbacks, as a worker's would.
        await product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        for (var order = 1; order <= 5; order++)
        {
            var accepted = await product.BigCommerceWebhooks.SendAsync(
                BigCommerceFixtures.Callback("webhook-order-updated.json", ProductUnderTest.StoreHash, order));
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }
        var forged = new WebhookSender(new HttpClient(), product.ReceiverUrl + Route, WebhookSender.Base64Secret("not the secret"));
        var rejected = await forged.SendAsync(BigCommerceFixtures.Callback("webhook-order-updated.json", ProductUnderTest.StoreHash, 6));
        Assert.Equal(HttpStatusCode.Unauthorized, rejected.StatusCode);

        // The rejected request ended last: once its span is exported, the accepted ones' traces
        // have been exported or dropped.
        await ProductUnderTest.EventuallyAsync("the rejected callback's trace at the collector",
            () => Task.FromResult(collector.Exported(Route)), exported => exported, diagnostics: product.Logs);
        if (acceptedExported)
        {
            await ProductUnderTest.EventuallyAsync("the accepted callbacks' traces at the collector",
                () => Task.FromResult(collector.Exported(PublishSpan)), exported => exported, diagnostics: product.Logs);
        }
        Assert.Equal(acceptedExported, collector.Exported(PublishSpan));
    }
}
