using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>Messaging__QueueType=quorum: the worker's queues are replicated quorum queues, and dead letters still replay.</summary>
public sealed class QuorumQueueTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string> { ["Messaging__QueueType"] = "quorum" });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task The_input_and_error_queues_are_quorum_queues_and_a_dead_letter_replays()
    {
        foreach (var queue in Queues.Inputs)
        {
            Assert.Equal("quorum", await _product.Broker.QueueTypeAsync(queue));
        }
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var broken = BigCommerceFixtures.Order(218, 11, DateTimeOffset.UtcNow.AddMinutes(-1));
        broken["total_inc_tax"] = "a lot";
        store.PutOrder(broken, BigCommerceFixtures.Lines(218));
        (await _product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218))).EnsureSuccessStatusCode();
        var errorQueue = Queues.BigCommerceOrderChanged + Queues.ErrorSuffix;
        await ProductUnderTest.EventuallyAsync(
            "the unparseable order in " + errorQueue, () => _product.Broker.QueueAsync(errorQueue), q => q.Messages == 1, diagnostics: _product.Logs);
        Assert.Equal("quorum", await _product.Broker.QueueTypeAsync(errorQueue));

        store.PutOrder(BigCommerceFixtures.Order(218, 11, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(218));
        var replay = await new Cli(_product).RunAsync("dlq", "replay", "--type", "BigCommerceOrderChanged");

        Assert.True(replay.ExitCode == 0, replay.Output);
        await using var connection = await _product.OpenDatabaseAsync();
        await ProductUnderTest.EventuallyAsync(
            "order 218 applied from the replay",
            () => connection.ExecuteScalarAsync<long>("select count(*) from commerce_orders where bigcommerce_order_id = '218'"), n => n == 1,
            diagnostics: _product.Logs);
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Queues.BigCommerceOrderChanged));
    }
}
