using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace PerazziSync.BigCommerce.Records;

/// <summary>
/// The fields of a V2 order the portal keeps, parsed once where the order arrives; the whole
/// order (<see cref="Raw"/>) goes to raw_payload.
/// </summary>
public sealed record BigCommerceOrder(
    long Id,
    long CustomerId,
    string? Status,
    decimal? TotalIncTax,
    string? Currency,
    DateTimeOffset? DateCreated,
    DateTimeOffset? DateModified,
    bool IsDeleted,
    string? BillingEmail,
    JsonElement Raw)
{
    public static BigCommerceOrder Parse(JsonElement order) => new(
        Id: Json.RequiredInt64(order, "id", "order"),
        // Guest orders carry customer_id 0.
        CustomerId: Json.OptionalInt64(order, "customer_id") ?? 0,
        Status: Json.OptionalString(order, "status"),
        TotalIncTax: Json.Money(order, "total_inc_tax"),
        // One of BigCommerce's own examples spells the key with a stray quote; the store's
        // default currency is the same unless the shopper switched currency.
        Currency: Json.OptionalString(order, "currency_code") ?? Json.OptionalString(order, "default_currency_code"),
        DateCreated: Json.Rfc2822(order, "date_created"),
        DateModified: Json.Rfc2822(order, "date_modified"),
        IsDeleted: order.TryGetProperty("is_deleted", out var deleted) && deleted.ValueKind == JsonValueKind.True,
        BillingEmail: order.TryGetProperty("billing_address", out var billing) && billing.ValueKind == JsonValueKind.Object
            ? Json.OptionalString(billing, "email")
            : null,
        Raw: order);
}

/// <summary>One line of <c>GET /v2/orders/{id}/products</c>; <see cref="Raw"/> goes to raw_payload.</summary>
public sealed record BigCommerceOrderLine(
    long Id, long? ProductId, string? Sku, string? Name, int? Quantity, decimal? Price, JsonElement Raw)
{
    public static BigCommerceOrderLine Parse(JsonElement line) => new(
        Id: Json.RequiredInt64(line, "id", "order product"),
        ProductId: Json.OptionalInt64(line, "product_id"),
        Sku: Json.OptionalString(line, "sku"),
        Name: Json.OptionalString(line, "name"),
        Quantity: Json.OptionalInt64(line, "quantity") is { } quantity ? checked((int)quantity) : null,
        Price: Json.Money(line, "price_inc_tax"),
        Raw: line);
}

/// <summary>One customer of <c>GET /v3/customers</c>.</summary>
public sealed record BigCommerceCustomer(long Id, string? Email, DateTimeOffset? DateModified)
{
    public static BigCommerceCustomer Parse(JsonElement customer) => new(
        Id: Json.RequiredInt64(customer, "id", "customer"),
        Email: Json.OptionalString(customer, "email"),
        DateModified: Json.Iso8601(customer, "date_modified"));
}

/// <summary>An order as BigCommerce returned it, with its product lines, parsed.</summary>
/// <param name="FetchStartedAt">When the order request left: every change announced before it is in the snapshot.</param>
public sealed record OrderSnapshot(BigCommerceOrder Order, IReadOnlyList<BigCommerceOrderLine> Lines, DateTimeOffset FetchStartedAt);

/// <summary>A customer as BigCommerce returned it, parsed.</summary>
public sealed record CustomerSnapshot(BigCommerceCustomer Customer, DateTimeOffset FetchStartedAt);

/// <summary>
/// One entry of a listing: its snapshot, or why it cannot be read. A malformed entry fails alone;
/// the listing goes on with the next one.
/// </summary>
/// <param name="Id">The entry's id; null when not even that can be read.</param>
/// <param name="Snapshot">The entry parsed; null when it is malformed.</param>
/// <param name="Malformed">Why the entry cannot be read; null when it can.</param>
/// <param name="Version">
/// A malformed entry's digest (<see cref="Digest"/> of its text): the same entry listed again has
/// the same, any change of it another. Null when it is readable or was not listed itself.
/// </param>
public sealed record Listed<T>(long? Id, T? Snapshot, BigCommercePayloadException? Malformed, string? Version = null) where T : class;

/// <summary>What tells two versions of a text apart, stored where the text itself need not be.</summary>
public static class Digest
{
    /// <summary>The SHA-256 of <paramref name="text"/>'s UTF-8, in hex.</summary>
    public static string Of(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

/// <summary>A BigCommerce response that can never be processed as it is.</summary>
public sealed class BigCommercePayloadException(string message) : Exception(message);

static class Json
{
    static readonly string[] Rfc2822Formats =
    [
        "ddd, d MMM yyyy HH:mm:ss zzz",
        "d MMM yyyy HH:mm:ss zzz",
        "ddd, d MMM yyyy HH:mm zzz",
        "r",
    ];

    public static long RequiredInt64(JsonElement element, string name, string what) =>
        OptionalInt64(element, name) ?? throw new BigCommercePayloadException($"The {what} has no numeric \"{name}\"");

    public static long? OptionalInt64(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }
        return value.ValueKind switch
        {
            JsonValueKind.Number when value.TryGetInt64(out var number) => number,
            JsonValueKind.String when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) => number,
            JsonValueKind.Null => null,
            _ => throw new BigCommercePayloadException($"\"{name}\" is not an integer: {value.GetRawText()}"),
        };
    }

    public static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : null;

    /// <summary>Money arrives as a string ("69.8400"); it is parsed as a decimal, never through a float.</summary>
    public static decimal? Money(JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
        return decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            ? amount
            : throw new BigCommercePayloadException($"\"{name}\" is not an amount: {value.GetRawText()}");
    }

    /// <summary>Order dates are RFC 2822 strings, e.g. "Tue, 05 Mar 2019 21:40:11 +0000"; "" means unset.</summary>
    public static DateTimeOffset? Rfc2822(JsonElement element, string name)
    {
        var text = OptionalString(element, name);
        if (text is null)
        {
            return null;
        }
        return DateTimeOffset.TryParseExact(text.Trim(), Rfc2822Formats, CultureInfo.InvariantCulture, DateTimeStyles.AllowInnerWhite, out var at)
            ? at
            : throw new BigCommercePayloadException($"\"{name}\" is not an RFC 2822 date: {text}");
    }

    /// <summary>Hook times are Unix seconds.</summary>
    public static DateTimeOffset? UnixSeconds(JsonElement element, string name) =>
        OptionalInt64(element, name) is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    /// <summary>Customer dates are ISO-8601 strings, e.g. "2020-02-07T19:58:03Z".</summary>
    public static DateTimeOffset? Iso8601(JsonElement element, string name)
    {
        var text = OptionalString(element, name);
        if (text is null)
        {
            return null;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new BigCommercePayloadException($"\"{name}\" is not an ISO-8601 date: {text}");
    }
}
