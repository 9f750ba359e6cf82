using System.Net;
using System.Text;
using System.Text.Json.Nodes;
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

    [Fact]
    public async Task A_delivery_whose_sender_hangs_up_during_the_publish_is_confirmed_and_remembered_so_its_retry_is_a_duplicate()
    {
        var probe = await _product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218);
        Assert.Equal(HttpStatusCode.OK, (await _product.BigCommerceWebhooks.SendAsync(body, "msg_warm")).StatusCode);
        await _product.Broker.DrainAsync(probe);
        var signed = _product.BigCommerceWebhooks.SignedRequest(body, "msg_hung_up", DateTimeOffset.UtcNow);
        var headers = string.Concat(signed.Headers.Select(h => $"{h.Key}: {string.Join(",", h.Value)}\r\n"));

        // The publish is held on its way to the broker while the sender hangs up, then let through.
        _proxy.HoldRequests();
        var url = new Uri(_product.ReceiverUrl);
        using (var sender = new System.Net.Sockets.TcpClient())
        {
            await sender.ConnectAsync(url.Host, url.Port);
            await sender.GetStream().WriteAsync(Encoding.UTF8.GetBytes(
                $"POST /webhooks/bigcommerce HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}"));
            await ProductUnderTest.EventuallyAsync("the publish held in the proxy",
                () => Task.FromResult(_proxy.HeldRequests), held => held > 0, TimeSpan.FromSeconds(10));
        }
        await Task.Delay(300);
        _proxy.ReleaseRequests();
        await ProductUnderTest.EventuallyAsync("the message in its queue",
            () => _product.Broker.QueueAsync(probe), queue => queue.Ready > 0, TimeSpan.FromSeconds(10));
        // The broker's confirm follows the message into its queue on the way back.
        await Task.Delay(200);
        var retry = await _product.BigCommerceWebhooks.SendAsync(body, "msg_hung_up");

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal("duplicate", JsonNode.Parse(await retry.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
        Assert.Single(await _product.Broker.DrainAsync(probe));
    }
}
