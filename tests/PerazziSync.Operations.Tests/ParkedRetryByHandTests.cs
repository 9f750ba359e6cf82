using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary><c>parked retry</c>: an operator re-attempts parked events now, without waiting for the worker's jobs.</summary>
public sealed class ParkedRetryByHandTests : IAsyncLifetime
{
    static readonly Guid Late = Guid.Parse("1a7e0000-0000-4000-8000-000000000017");
    ProductUnderTest _product = null!;

    // The scheduled re-attempts never fire here: only the operator retries.
    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string> { ["Pos__RematchCron"] = "0 0 0 1 1 ? 2099" });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_pos_record_parked_for_an_unknown_serial_attaches_once_the_gun_is_verified_and_the_operator_retries()
    {
        await SendPosAsync("WO-P-1", "PZ-NEW-0001");
        await SendPosAsync("WO-P-2", "PZ-NEW-0002");
        await using var connection = await _product.OpenDatabaseAsync();
        await ProductUnderTest.EventuallyAsync(
            "WO-P-1 and WO-P-2 parked",
            () => connection.ExecuteScalarAsync<long>("select count(*) from perazzi_sync.parked_events where source_key like 'WO-P-%' and resolved_at is null"),
            n => n == 2, diagnostics: _product.Logs);
        await connection.ExecuteAsync("""
            insert into perazzi_assets (owner_user_id, serial_number, model, verification_status)
            select id, 'PZ-NEW-0001', 'High Tech', 'verified' from auth.users where email = 'janedoe@example.com'
            """);

        var cli = new Cli(_product);
        var list = await cli.RunAsync("parked", "list", "--source", "perazzi_pos");
        Assert.Contains("WO-P-1", list.Output, StringComparison.Ordinal);
        var retry = await cli.RunAsync("parked", "retry", "--source", "perazzi_pos");

        Assert.True(retry.ExitCode == 0, retry.Output);
        Assert.Contains("POS: 1 attached, 1 still parked.", retry.Output, StringComparison.Ordinal);
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = 'WO-P-1'"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from service_events where source_record_id = 'WO-P-2'"));
        var states = (await connection.QueryAsync<(string Key, int Attempts, bool Resolved)>(
            "select source_key, attempts, resolved_at is not null from perazzi_sync.parked_events where source_key like 'WO-P-%' order by 1")).ToList();
        Assert.Equal([("WO-P-1", 1, true), ("WO-P-2", 2, false)], states);
    }

    [Fact]
    public async Task A_retry_of_bigcommerce_events_says_at_once_that_the_broker_cannot_be_reached_and_leaves_them_parked()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        await connection.ExecuteAsync("""
            select perazzi_sync.park('bigcommerce', 'order:602', 'guest_order', 'BigCommerceOrderChanged',
                                     '{"StoreHash": "abc123", "OrderId": 602}'::jsonb, null, null, null)
            """);
        var closed = LoopbackPort.Reserve();
        var environment = new Cli(_product).Environment;
        environment["ConnectionStrings__RabbitMq"] = $"amqp://guest:not-the-password@127.0.0.1:{closed}/";

        await using var retry = HostProcess.Start("PerazziSync.Cli", environment, "parked", "retry", "--source", "bigcommerce");
        var exitCode = await retry.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 1, retry.Output);
        Assert.Contains($"RabbitMQ at 127.0.0.1:{closed}/ cannot be reached", retry.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", retry.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", retry.Output, StringComparison.Ordinal);
        Assert.Equal((1, false), await connection.QuerySingleAsync<(int, bool)>(
            "select attempts, resolved_at is not null from perazzi_sync.parked_events where source_key = 'order:602'"));
        Assert.Equal(0, await connection.ExecuteScalarAsync<long>("select count(*) from audit_log where action = 'parked.retry'"));
    }

    [Fact]
    public async Task A_bigcommerce_order_parked_for_an_unconfirmed_email_arrives_when_the_operator_retries_it()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        await connection.ExecuteAsync("insert into auth.users (id, email) values (@Late, 'late.hand@example.com')", new { Late });
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(61, "late.hand@example.com"));
        store.PutOrder(BigCommerceFixtures.Order(601, 61, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(601));
        await _product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 601));
        var reason = await ProductUnderTest.EventuallyAsync(
            "order 601 parked",
            () => connection.ExecuteScalarAsync<string?>("select reason from perazzi_sync.parked_events where source_key = 'order:601'"),
            r => r is not null, diagnostics: _product.Logs);
        Assert.True(reason == "no_confirmed_portal_user", _product.Logs());
        await connection.ExecuteAsync("update auth.users set email_confirmed_at = now() where id = @Late", new { Late });

        var retry = await new Cli(_product).RunAsync("parked", "retry", "--source", "bigcommerce", "--key", "order:601");

        Assert.True(retry.ExitCode == 0, retry.Output);
        Assert.Contains("BigCommerce: 1 sent to the worker again", retry.Output, StringComparison.Ordinal);
        var owner = await ProductUnderTest.EventuallyAsync(
            "order 601 synced after the retry",
            () => connection.ExecuteScalarAsync<Guid?>("select c.user_id from commerce_orders o join commerce_customers c on c.id = o.commerce_customer_id where o.bigcommerce_order_id = '601'"),
            u => u is not null, diagnostics: _product.Logs);
        Assert.True(owner == Late, _product.Logs());
        Assert.True(await connection.ExecuteScalarAsync<bool>(
            "select resolved_at is not null from perazzi_sync.parked_events where source_key = 'order:601'"));
    }

    async Task SendPosAsync(string workOrder, string serial)
    {
        (await _product.PosWebhooks.SendAsync(PosCallbacks.For(workOrder, serialNumber: serial))).EnsureSuccessStatusCode();
    }
}
