using System.Net;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Reliability.Tests;

/// <summary>
/// A callback the broker confirmed but could route to no queue (no worker has declared its queue
/// yet, or an operator deleted it) is not stored: the receiver answers 503, never 200.
/// </summary>
public sealed class UnroutedCallbackTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() => _product = await ProductUnderTest.StartAsync(workers: 0);

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_callback_no_queue_takes_is_answered_503_and_its_retry_is_accepted_once_a_queue_is_bound()
    {
        var pos = BadInputs.ValidPos(1);
        var order = BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218);

        var posBefore = await _product.PosWebhooks.SendAsync(pos, "pos_unrouted");
        var orderBefore = await _product.BigCommerceWebhooks.SendAsync(order, "msg_unrouted");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, posBefore.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, orderBefore.StatusCode);

        var posQueue = await _product.Broker.ProbeAsync<PosServiceRecordReceived>();
        var orderQueue = await _product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var posAfter = await _product.PosWebhooks.SendAsync(pos, "pos_unrouted");
        var orderAfter = await _product.BigCommerceWebhooks.SendAsync(order, "msg_unrouted");

        Assert.Equal(HttpStatusCode.OK, posAfter.StatusCode);
        Assert.Equal(HttpStatusCode.OK, orderAfter.StatusCode);
        // The deliveries answered 503 were not remembered: their retries were published, once each.
        Assert.Contains("\"accepted\"", await posAfter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("\"accepted\"", await orderAfter.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(await _product.Broker.DrainAsync(posQueue));
        Assert.Single(await _product.Broker.DrainAsync(orderQueue));
    }
}
