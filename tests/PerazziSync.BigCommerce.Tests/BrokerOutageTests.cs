using System.Net;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>The receiver never answers 2xx for a callback the broker did not confirm.</summary>
public sealed class BrokerOutageTests : IAsyncLifetime
{
    TcpProxy _proxy = null!;
    ProductUnderTest _product = null!;

    public async Task InitializeAsync()
    {
        _proxy = await ServiceProxies.RabbitMqAsync();
        _product = await ProductUnderTest.StartAsync(workers: 0, receiverBroker: _proxy.Through);
    }

    public async Task DisposeAsync()
    {
        await _product.DisposeAsync();
        await _proxy.DisposeAsync();
    }

    [Fact]
    public async Task Receiver_answers_503_while_the_broker_is_unreachable_and_200_once_it_is_back()
    {
        var probe = await _product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218);
        Assert.Equal(HttpStatusCode.OK, (await _product.BigCommerceWebhooks.SendAsync(body, "msg_before")).StatusCode);

        _proxy.Cut();
        var during = await _product.BigCommerceWebhooks.SendAsync(body, "msg_during");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.StatusCode);

        _proxy.Start();
        var after = await ProductUnderTest.EventuallyAsync(
            "a 200 from the receiver once the broker is back",
            async () => await _product.BigCommerceWebhooks.SendAsync(body, "msg_during"),
            response => response.StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        // The delivery answered 503 was not remembered: its retry is published, not taken for a duplicate.
        Assert.Contains("\"accepted\"", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var published = await _product.Broker.DrainAsync(probe);
        Assert.Contains(published, m => m.Body.Contains("msg_before", StringComparison.Ordinal));
        Assert.Contains(published, m => m.Body.Contains("msg_during", StringComparison.Ordinal));
    }
}
