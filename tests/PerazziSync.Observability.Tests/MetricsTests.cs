using System.Net;
using System.Text.Json.Nodes;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Observability.Tests;

/// <summary>The hosts' /metrics move with what they do.</summary>
public sealed class MetricsTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string> { ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099" });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task Accepted_rejected_applied_unchanged_and_parked_are_counted()
    {
        var receiver = _product.ReceiverUrl;
        var worker = _product.WorkerUrls[0];
        const string Pos = "type=\"PosServiceRecordReceived\"";
        Assert.Equal(0, await Metrics.ReadAsync(receiver, "perazzisync_webhooks_received_total", "outcome=\"accepted\""));

        var record = JsonNode.Parse(PosCallbacks.Fixture())!;
        Assert.Equal(HttpStatusCode.OK, (await _product.PosWebhooks.SendAsync(record.ToJsonString())).StatusCode);
        await Consumed(worker, Pos, "applied", 1);
        Assert.Equal(HttpStatusCode.OK, (await _product.PosWebhooks.SendAsync(record.ToJsonString())).StatusCode);
        await Consumed(worker, Pos, "unchanged", 1);
        record["source_record_id"] = "WO-M-1";
        record["serial_number"] = "NO-SUCH-SERIAL";
        Assert.Equal(HttpStatusCode.OK, (await _product.PosWebhooks.SendAsync(record.ToJsonString())).StatusCode);
        await Consumed(worker, Pos, "parked", 1);
        var forged = new WebhookSender(new HttpClient(), receiver + "/webhooks/pos", WebhookSender.Base64Secret("not the secret"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.SendAsync(record.ToJsonString())).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await _product.PosWebhooks.SendAsync("{\"source_record_id\": 7}")).StatusCode);

        Assert.Equal(3, await Eventually("accepted POS callbacks", () => Metrics.ReadAsync(receiver, "perazzisync_webhooks_received_total", "outcome=\"accepted\"", "route=\"pos\""), 3));
        Assert.Equal(1, await Eventually("unauthorized callbacks", () => Metrics.ReadAsync(receiver, "perazzisync_webhooks_received_total", "outcome=\"rejected\"", "reason=\"unauthorized\""), 1));
        Assert.Equal(1, await Eventually("invalid records", () => Metrics.ReadAsync(receiver, "perazzisync_webhooks_received_total", "outcome=\"rejected\"", "reason=\"invalid_record\""), 1));
        Assert.Equal(1, await Metrics.ReadAsync(worker, "perazzisync_sync_lag_seconds_count", "source=\"perazzi_pos\""));
    }

    [Fact]
    public async Task A_dead_lettered_message_and_the_bigcommerce_requests_are_counted()
    {
        var worker = _product.WorkerUrls[0];
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var broken = BigCommerceFixtures.Order(219, 11, DateTimeOffset.UtcNow.AddMinutes(-1));
        broken["date_created"] = "not a date";
        store.PutOrder(broken, BigCommerceFixtures.Lines(219));

        (await _product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 219))).EnsureSuccessStatusCode();

        Assert.Equal(1, await Eventually("the dead-lettered order", () => Metrics.ReadAsync(worker, "perazzisync_messages_consumed_total",
            "type=\"BigCommerceOrderChanged\"", "outcome=\"dead_lettered\"", "exception=\"BigCommercePayloadException\""), 1));
        // The order is parsed as it arrives: one that can never be applied is a permanent fault,
        // dead-lettered at once, and costs no request for its lines; it was counted before the
        // dead letter was. The other two are the worker's check of the subscriptions as it
        // started: the hooks and their admin view.
        Assert.Equal(3, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_requests_total"));
        Assert.Equal(3, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_requests_total", "status=\"200\""));
        Assert.Equal(3, await Metrics.ReadAsync(worker, "perazzisync_bigcommerce_budget_wait_seconds_count"));
        Assert.Equal((1, 1, 1, 3), (store.OrderFetches(219), store.HookListings, store.HookAdminReads, store.TotalRequests));
    }

    [Fact]
    public async Task Both_hosts_export_the_runtime_s_own_metrics()
    {
        // What an operator looks at when a host is slow: its CPU, collections, thread pool and
        // code still being compiled (which the receiver's benchmark waits on before measuring).
        foreach (var host in new[] { _product.ReceiverUrl, _product.WorkerUrls[0] })
        {
            foreach (var metric in new[]
                     {
                         "dotnet_process_cpu_time_seconds_total", "dotnet_gc_heap_total_allocated_bytes_total",
                         "dotnet_thread_pool_thread_count_total", "dotnet_jit_compiled_methods_total", "dotnet_jit_compilation_time_seconds_total",
                     })
            {
                Assert.True(await Metrics.ReadAsync(host, metric) > 0, $"{host}/metrics has no {metric} above 0");
            }
        }
    }

    static async Task Consumed(string worker, string type, string outcome, double expected) =>
        Assert.Equal(expected, await Eventually($"{outcome} {type} messages", () => Metrics.ReadAsync(worker, "perazzisync_messages_consumed_total", type, $"outcome=\"{outcome}\""), expected));

    /// <summary>Waits until the count reaches <paramref name="expected"/> (the caller asserts it stopped there).</summary>
    static Task<double> Eventually(string what, Func<Task<double>> read, double expected) =>
        ProductUnderTest.EventuallyAsync($"{expected} {what} counted on /metrics", read, v => v >= expected, TimeSpan.FromSeconds(20));
}
