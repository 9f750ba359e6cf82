using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Hosts.Tests;

/// <summary>
/// The first run, before the operator has a store: the hosts get what <c>deploy/run.sh</c> writes
/// on its first run (the generated webhook secrets) and no store settings at all.
/// </summary>
public sealed class FirstRunTests : IAsyncLifetime
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    TestDatabase _database = null!;
    TestVirtualHost _broker = null!;
    HostProcess _worker = null!;
    HostProcess _receiver = null!;
    string _workerUrl = null!;
    string _receiverUrl = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateMigratedAsync();
        await using (var connection = await _database.OpenAsync())
        {
            await PortalUsers.SeedAsync(connection);
            await PortalUsers.SeedAssetsAsync(connection);
        }
        _broker = await TestVirtualHost.CreateAsync();
        _workerUrl = HostProcess.LoopbackUrl();
        _receiverUrl = HostProcess.LoopbackUrl();
        _worker = HostProcess.Start("PerazziSync.Worker", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = _workerUrl,
            ["ConnectionStrings__Postgres"] = _database.ConnectionString,
            ["ConnectionStrings__RabbitMq"] = _broker.AmqpUri,
        });
        _receiver = HostProcess.Start("PerazziSync.Receiver", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = _receiverUrl,
            ["ConnectionStrings__RabbitMq"] = _broker.AmqpUri,
            ["BigCommerce__WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
            ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
        });
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        await _worker.DisposeAsync();
        await _broker.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task Without_store_settings_both_hosts_become_ready_serve_pos_and_say_the_bigcommerce_side_waits_for_a_store()
    {
        var workerReady = await ReadyAsync(_worker, _workerUrl);
        var receiverReady = await ReadyAsync(_receiver, _receiverUrl);

        foreach (var (ready, host) in new[] { (workerReady, _worker), (receiverReady, _receiver) })
        {
            Assert.Equal("Degraded", ready["status"]!.GetValue<string>());
            var check = ready["checks"]!["bigcommerce"]!;
            Assert.Equal("Degraded", check["status"]!.GetValue<string>());
            Assert.Contains("waiting for a store", check["description"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Contains("waiting for a store", host.Output, StringComparison.Ordinal);
        }

        var pos = new WebhookSender(Http, _receiverUrl + "/webhooks/pos", WebhookSender.PosSecret);
        var posAnswer = await pos.SendAsync(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "pos", "callback-completed.json")));
        Assert.Equal(HttpStatusCode.OK, posAnswer.StatusCode);
        await using var connection = await _database.OpenAsync();
        var status = await ProductUnderTest.EventuallyAsync(
            "the POS callback WO-2026-0007 applied",
            () => connection.ExecuteScalarAsync<string?>("select status from service_events where source_record_id = 'WO-2026-0007'"),
            s => s is not null, diagnostics: () => _worker.Output);
        Assert.Equal("completed", status);

        var bigCommerce = new WebhookSender(Http, _receiverUrl + "/webhooks/bigcommerce", WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret));
        var bigCommerceAnswer = await bigCommerce.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", "anystore", 218));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, bigCommerceAnswer.StatusCode);
        Assert.Contains("BigCommerce__StoreHash is not set", await bigCommerceAnswer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(_worker.HasExited || _receiver.HasExited);
    }

    /// <summary>The <c>/health/ready</c> body once it answers 200; fails saying what it last got.</summary>
    static async Task<JsonNode> ReadyAsync(HostProcess host, string url)
    {
        var last = "no answer";
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline && !host.HasExited;)
        {
            try
            {
                var response = await Http.GetAsync(url + "/health/ready");
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return JsonNode.Parse(body)!;
                }
                last = $"{(int)response.StatusCode}: {body}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new Xunit.Sdk.XunitException($"{url}/health/ready did not answer 200; last: {last}\n{host.Output}");
    }
}
