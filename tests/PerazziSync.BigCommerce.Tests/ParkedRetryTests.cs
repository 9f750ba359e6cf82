using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>Parked BigCommerce events are re-attempted by the worker until they can be attributed.</summary>
public sealed class ParkedRetryTests : IAsyncLifetime
{
    static readonly Guid Late = Guid.Parse("1a7e0000-0000-4000-8000-000000000007");
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__ParkedRetryCron"] = "0/2 * * * * ?",
            ["BigCommerce__ParkedRetryBackoff"] = "00:00:01",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task An_order_parked_for_an_unconfirmed_email_arrives_once_the_owner_confirms_it()
    {
        await using var connection = await _product.OpenDatabaseAsync();
        await connection.ExecuteAsync("insert into auth.users (id, email) values (@Late, 'late@example.com')", new { Late });
        var store = _product.BigCommerce;
        store.PutCustomer(BigCommerceFixtures.Customer(41, "Late@Example.com"));
        store.PutOrder(BigCommerceFixtures.Order(501, 41, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(501));
        store.PutOrder(BigCommerceFixtures.Order(502, 0, DateTimeOffset.UtcNow.AddMinutes(-1)), BigCommerceFixtures.Lines(502));

        (await _product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 501))).EnsureSuccessStatusCode();
        (await _product.BigCommerceWebhooks.SendAsync(BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 502))).EnsureSuccessStatusCode();
        var parked = await ProductUnderTest.EventuallyAsync(
            "order 501 parked and re-attempted at least once", () => Rows.ParkedAsync(_product, "order:501"), p => p is { Attempts: >= 2 }, diagnostics: _product.Logs);
        Assert.True(parked is { Reason: "no_confirmed_portal_user", ResolvedAt: null }, _product.Logs());
        Assert.Null(await Rows.OrderAsync(_product, 501));

        await connection.ExecuteAsync("update auth.users set email_confirmed_at = now() where id = @Late", new { Late });

        var order = (await ProductUnderTest.EventuallyAsync(
            "order 501 synced once its owner confirmed the e-mail", () => Rows.OrderAsync(_product, 501), o => o is not null, diagnostics: _product.Logs))!;
        Assert.Equal(Late, order.UserId);
        Assert.NotNull((await Rows.ParkedAsync(_product, "order:501"))?.ResolvedAt);
        // A guest order is not re-attempted: nothing in the portal can attribute it.
        Assert.Equal(1, (await Rows.ParkedAsync(_product, "order:502"))?.Attempts);
    }
}
