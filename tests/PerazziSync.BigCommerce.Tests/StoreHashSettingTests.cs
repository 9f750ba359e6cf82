using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// <c>BigCommerce__StoreHash</c> given in capitals and with stray spaces, as a deployer may type or
/// paste it: the store is the same one, its callbacks are taken, its API paths and its rows use
/// BigCommerce's lower-case hash.
/// </summary>
public sealed class StoreHashSettingTests : IAsyncLifetime
{
    ProductUnderTest _product = null!;

    public async Task InitializeAsync() =>
        _product = await ProductUnderTest.StartAsync(settings: new Dictionary<string, string>
        {
            ["BigCommerce__StoreHash"] = $"  {ProductUnderTest.StoreHash.ToUpperInvariant()} ",
        });

    public async Task DisposeAsync() => await _product.DisposeAsync();

    [Fact]
    public async Task A_hash_configured_in_capitals_with_spaces_takes_the_store_s_callbacks_and_applies_them_under_the_lower_case_hash()
    {
        var store = _product.BigCommerce;
        var paths = new ConcurrentQueue<string>();
        store.OnRequest = request =>
        {
            paths.Enqueue(request.Path.Value!);
            return Task.CompletedTask;
        };
        store.PutOrder(BigCommerceFixtures.Load("order-v2.json"), BigCommerceFixtures.Lines(218));
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));

        // BigCommerce names the store in lower case.
        var response = await _product.BigCommerceWebhooks.SendAsync(
            BigCommerceFixtures.Callback("webhook-order-created.json", ProductUnderTest.StoreHash, 218));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("accepted", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["status"]!.GetValue<string>());
        var order = await ProductUnderTest.EventuallyAsync("order 218 in commerce_orders", () => Rows.OrderAsync(_product, 218), o => o is not null, diagnostics: _product.Logs);
        Assert.Equal(PortalUsers.Jane, order!.UserId);

        Assert.NotEmpty(paths);
        Assert.All(paths, path => Assert.StartsWith($"/stores/{ProductUnderTest.StoreHash}/", path, StringComparison.Ordinal));
        await using var connection = await _product.OpenDatabaseAsync();
        Assert.Equal([ProductUnderTest.StoreHash], await connection.QueryAsync<string>(
            "select distinct store_hash from perazzi_sync.entity_fetches"));
        Assert.Equal([ProductUnderTest.StoreHash], await connection.QueryAsync<string>(
            "select distinct metadata->>'store_hash' from audit_log where metadata->>'source_key' = 'order:218'"));
        Assert.True(store.BadRequests == 0, string.Join("\n", store.Refusals));
    }
}
