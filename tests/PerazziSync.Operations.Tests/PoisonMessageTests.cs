using Dapper;
using PerazziSync.Contracts;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>A message that fails for good: dead-lettered with its reason, inspected, replayed once its cause is fixed.</summary>
public sealed class PoisonMessageTests : IAsyncLifetime
{
    const string Input = Queues.BigCommerceOrderChanged;
    const string ErrorQueue = Input + Queues.ErrorSuffix;
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() => _product = await ProductUnderTest.StartAsync();

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_poison_message_is_listed_shown_left_alone_by_a_dry_run_and_applied_once_by_a_replay_after_the_fix()
    {
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var broken = BigCommerceFixtures.Order(218, 11, DateTimeOffset.UtcNow.AddMinutes(-1));
        broken["date_created"] = "yesterday afternoon";
        store.PutOrder(broken, BigCommerceFixtures.Lines(218));

        var response = await _product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218));
        response.EnsureSuccessStatusCode();
        await ProductUnderTest.EventuallyAsync(
            "the poison order in " + ErrorQueue, () => _product.Broker.QueueAsync(ErrorQueue), q => q.Messages == 1, diagnostics: _product.Logs);

        var cli = new Cli(_product);
        var list = await cli.RunAsync("dlq", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Matches($@"{ErrorQueue}\s*│\s*1\b", list.Output);
        Assert.Contains("BigCommercePayloadException", list.Output, StringComparison.Ordinal);
        Assert.Contains("is not an RFC 2822 date", list.Output, StringComparison.Ordinal);
        Assert.Contains("order:218", list.Output, StringComparison.Ordinal);
        Assert.Contains("BigCommerceOrderChanged", list.Output, StringComparison.Ordinal);
        var messageId = System.Text.RegularExpressions.Regex.Match(list.Output, @"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").Value;

        var show = await cli.RunAsync("dlq", "show", messageId);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("MT-Fault-ExceptionType", show.Output, StringComparison.Ordinal);
        Assert.Contains("MT-Fault-StackTrace", show.Output, StringComparison.Ordinal);
        Assert.Contains("\"orderId\": 218", show.Output, StringComparison.Ordinal);

        var dryRun = await cli.RunAsync("dlq", "replay", "--dry-run");
        Assert.Equal(0, dryRun.ExitCode);
        Assert.Contains($"1 message(s) would be replayed from {ErrorQueue} to {Input}", dryRun.Output, StringComparison.Ordinal);
        Assert.Equal(1u, await _product.Broker.DeadLetteredAsync(Input));
        await using var connection = await _product.OpenDatabaseAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from audit_log where action like 'dlq.%'"));

        // The fix: BigCommerce serves the order with a valid date again.
        store.PutOrder(BigCommerceFixtures.Order(218, 11, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(218));
        var replay = await cli.RunAsync("dlq", "replay", "--as", "ops.alice");
        Assert.True(replay.ExitCode == 0, replay.Output);
        Assert.Contains("1 message(s) replayed by ops.alice", replay.Output, StringComparison.Ordinal);
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Input));

        await ProductUnderTest.EventuallyAsync(
            "order 218 applied from the replay",
            () => connection.ExecuteScalarAsync<long>("select count(*) from commerce_orders where bigcommerce_order_id = '218'"), n => n == 1,
            diagnostics: _product.Logs);
        var audit = (await connection.QueryAsync<(string Action, string? Operator, string? MessageId)>("""
            select action, metadata->>'operator', coalesce(metadata->>'message_id', object_id) from audit_log
            where action in ('dlq.replay', 'commerce.order.upsert') order by created_at
            """)).ToList();
        Assert.Equal([("dlq.replay", "ops.alice", messageId), ("commerce.order.upsert", null, messageId)], audit);
        Assert.Equal(0u, await _product.Broker.DeadLetteredAsync(Input));
    }
}
