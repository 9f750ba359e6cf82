using System.Net;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Hosts.Tests;

/// <summary>Management__Urls: health and metrics on an address of their own, the webhooks only on the public one.</summary>
public sealed class ManagementPortTests
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    static readonly string[] Operational = ["/health/live", "/health/ready", "/metrics"];

    [Fact]
    public async Task Receiver_serves_webhooks_only_on_its_public_port_and_health_and_metrics_only_on_its_management_port()
    {
        await using var product = await ProductUnderTest.StartAsync(workers: 0, managementPorts: true);
        var publicUrl = product.ReceiverUrl;
        var managementUrl = product.ReceiverManagementUrl;
        Assert.NotEqual(publicUrl, managementUrl);
        var probe = await product.Broker.ProbeAsync<BigCommerceOrderChanged>();
        var body = BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218);

        var toManagement = new WebhookSender(Http, managementUrl + "/webhooks/bigcommerce", WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret))
            .SignedRequest(body, "msg_management", DateTimeOffset.UtcNow);
        toManagement.Headers.Host = new Uri(publicUrl).Authority;

        var onPublic = await product.BigCommerceWebhooks.SendAsync(body, "msg_public");
        var onManagement = await Http.SendAsync(toManagement);

        Assert.Equal(HttpStatusCode.OK, onPublic.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onManagement.StatusCode);
        var published = Assert.Single(await product.Broker.DrainAsync(probe));
        Assert.Contains("msg_public", published.Body, StringComparison.Ordinal);
        foreach (var path in Operational)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(publicUrl + path));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(managementUrl + path));
            // The Host header is the client's to write: naming the management address changes nothing.
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(publicUrl + path, host: new Uri(managementUrl).Authority));
        }
        Assert.Contains("perazzisync_webhooks_received_total", await Http.GetStringAsync(managementUrl + "/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_serves_health_and_metrics_only_on_its_management_port()
    {
        await using var product = await ProductUnderTest.StartAsync(workers: 1, receivers: 0, managementPorts: true);
        var publicUrl = product.WorkerUrls[0];
        var managementUrl = product.WorkerManagementUrls[0];

        foreach (var path in Operational)
        {
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(publicUrl + path));
            Assert.Equal(HttpStatusCode.NotFound, await StatusAsync(publicUrl + path, host: new Uri(managementUrl).Authority));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(managementUrl + path));
        }
    }

    [Fact]
    public async Task Without_the_setting_one_address_serves_webhooks_health_and_metrics()
    {
        await using var product = await ProductUnderTest.StartAsync(workers: 0);

        Assert.Equal(product.ReceiverUrl, product.ReceiverManagementUrl);
        var probe = await product.Broker.ProbeAsync<PosServiceRecordReceived>();
        Assert.Equal(HttpStatusCode.OK, (await product.PosWebhooks.SendAsync(PosCallbacks.Fixture())).StatusCode);
        Assert.Single(await product.Broker.DrainAsync(probe));
        foreach (var path in Operational)
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(product.ReceiverUrl + path));
        }
    }

    [Theory]
    [InlineData("http://127.0.0.1:0", "must be URLs with a port each")]
    [InlineData("not a url", "must be URLs with a port each")]
    [InlineData("PUBLIC", "must use different ports")]
    public async Task Receiver_refuses_a_management_address_it_cannot_tell_apart_and_names_the_setting(string managementUrls, string reason)
    {
        var url = HostProcess.LoopbackUrl();
        await using var receiver = HostProcess.Start("PerazziSync.Receiver", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["Management__Urls"] = managementUrls == "PUBLIC" ? url : managementUrls,
            ["ConnectionStrings__RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
            ["BigCommerce__StoreHash"] = "teststore",
            ["BigCommerce__WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
            ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
        });

        int exitCode;
        try
        {
            exitCode = await receiver.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
        catch (OperationCanceledException)
        {
            throw new Xunit.Sdk.XunitException($"The receiver was still running after 60 s with Management__Urls={managementUrls}:\n{receiver.Output}");
        }
        Assert.NotEqual(0, exitCode);
        Assert.Contains("Management:Urls", receiver.Output, StringComparison.Ordinal);
        Assert.Contains(reason, receiver.Output, StringComparison.Ordinal);
    }

    static async Task<HttpStatusCode> StatusAsync(string url, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        using var response = await Http.SendAsync(request);
        return response.StatusCode;
    }
}
