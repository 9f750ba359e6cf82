using System.Globalization;
using System.Text.Json.Nodes;

namespace PerazziSync.Testing;

/// <summary>The BigCommerce payloads of <c>tests/fixtures/bigcommerce</c>, loaded for editing.</summary>
public static class BigCommerceFixtures
{
    public static JsonObject Load(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "bigcommerce", name)))!.AsObject();

    public static JsonArray LoadArray(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "bigcommerce", name)))!.AsArray();

    /// <summary>A webhook callback of the fixture <paramref name="name"/> for this store and entity.</summary>
    public static string Callback(string name, string storeHash, long entityId)
    {
        var callback = Load(name);
        callback["producer"] = $"stores/{storeHash}";
        callback["data"]!["id"] = entityId;
        return callback.ToJsonString();
    }

    /// <summary>
    /// Order 218 of <c>order-v2.json</c> as another order, for another customer, modified at
    /// <paramref name="modified"/>, with the item count of <see cref="Lines"/> (the spec's order
    /// example counts 4 items, its lines example has 2).
    /// </summary>
    public static JsonObject Order(long id, long customerId, DateTimeOffset modified, string status = "Awaiting Payment")
    {
        var order = Load("order-v2.json");
        order["id"] = id;
        order["items_total"] = 2;
        order["customer_id"] = customerId;
        order["status"] = status;
        order["date_modified"] = Rfc2822(modified);
        return order;
    }

    /// <summary>The two lines of <c>order-products-v2.json</c>, moved to order <paramref name="orderId"/>.</summary>
    public static JsonArray Lines(long orderId)
    {
        var lines = LoadArray("order-products-v2.json");
        foreach (var line in lines)
        {
            line!["order_id"] = orderId;
        }
        return lines;
    }

    /// <summary>The customer of <c>customer-v3-object.json</c> with this id and e-mail.</summary>
    public static JsonObject Customer(long id, string email)
    {
        var customer = Load("customer-v3-object.json");
        customer["id"] = id;
        customer["email"] = email;
        return customer;
    }

    public static string Rfc2822(DateTimeOffset at) =>
        at.ToUniversalTime().ToString("ddd, dd MMM yyyy HH:mm:ss '+0000'", CultureInfo.InvariantCulture);
}
