using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace PerazziSync.Testing;

/// <summary>
/// Orders V2 reads as the spec describes them: <c>GET /orders/{id}</c> and <c>GET /orders</c> with
/// <c>include=consignments[.line_items]</c> and <c>consignment_structure=object</c>, the list
/// filtered by <c>min_date_modified</c>, <c>min_id</c>, <c>max_id</c>, sorted and paged (at most
/// 250 a page). An order's consignments are made from its lines as a store makes them: pickup
/// lines by pickup method, digital lines in the one download consignment, gift certificates by
/// e-mail, the other lines by shipping address. A parameter or value the spec does not have is
/// refused with 400.
/// </summary>
public sealed partial class FakeBigCommerce
{
    /// <summary>Values of <c>include</c> the spec lists for orders.</summary>
    static readonly HashSet<string> OrderIncludes = ["consignments", "consignments.line_items", "fees"];

    static readonly HashSet<string> OrderSorts = ["id", "customer_id", "date_created", "date_modified", "status_id", "channel_id", "external_id"];

    /// <summary>The largest page of <c>GET /v2/orders</c>.</summary>
    public const int MostOrdersPerPage = 250;

    /// <summary>
    /// False: consignments carry links to the lines instead of the lines, even when asked for
    /// them, as a store whose embedding cannot be trusted is read (for equivalence tests).
    /// </summary>
    public bool EmbedLines { get; set; } = true;

    /// <summary>
    /// Records from when each reconciliation listing of orders asked (<c>min_date_modified</c>),
    /// in the order asked; the rounds of fetches, which list by id range, are left out. Takes
    /// <see cref="OnRequest"/>.
    /// </summary>
    public ConcurrentQueue<DateTimeOffset> RecordOrderListings()
    {
        var listedFrom = new ConcurrentQueue<DateTimeOffset>();
        OnRequest = request =>
        {
            if (request.Path.Value!.EndsWith("/v2/orders", StringComparison.Ordinal) && !request.Query.ContainsKey("min_id"))
            {
                listedFrom.Enqueue(OrderDate(request.Query["min_date_modified"].ToString())!.Value);
            }
            return Task.CompletedTask;
        };
        return listedFrom;
    }

    /// <summary>How many listing pages returned the order, embedded lines and all.</summary>
    public int OrderListed(long orderId) => _requests.GetValueOrDefault($"listed:{orderId}");

    /// <summary>How many times the order's lines were read from <c>/products</c>.</summary>
    public int LineFetches(long orderId) => _requests.GetValueOrDefault($"lines:{orderId}");

    /// <summary>Every request the store answered, whatever its outcome, but for refusals of the token or headers.</summary>
    public int OrderRequests => _requests.Where(r => r.Key.StartsWith("order:", StringComparison.Ordinal) || r.Key.StartsWith("lines:", StringComparison.Ordinal)
        || r.Key == "orders:list").Sum(r => r.Value);

    IResult Order(long id, HttpContext context)
    {
        var request = context.Request;
        Count($"order:{id}");
        if (Embedding(request, out var problem) is not { } embedding)
        {
            return Refuse(context, 400, problem!);
        }
        return _orders.TryGetValue(id, out var order) ? Json(WithConsignments(order, embedding)) : Results.NotFound();
    }

    IResult ListOrders(HttpContext context)
    {
        var request = context.Request;
        Count("orders:list");
        var query = request.Query;
        if (Embedding(request, out var problem) is not { } embedding)
        {
            return Refuse(context, 400, problem!);
        }
        var page = Integer(query, "page") ?? 1;
        var limit = Integer(query, "limit") ?? 50;
        if (limit > MostOrdersPerPage)
        {
            return Refuse(context, 400, $"limit {limit}: at most {MostOrdersPerPage}");
        }
        var since = query["min_date_modified"].ToString() is { Length: > 0 } from ? OrderDate(from)!.Value : DateTimeOffset.MinValue;
        var minId = Integer(query, "min_id") ?? long.MinValue;
        var maxId = Integer(query, "max_id") ?? long.MaxValue;
        if (page == 1 && !query.ContainsKey("min_id") && !query.ContainsKey("max_id"))
        {
            Count("orders:list:first");
        }
        var sort = query["sort"].ToString() is { Length: > 0 } given ? given : "id:asc";
        var (field, direction) = sort.Split(':') is [var f, var d] ? (f, d) : (sort, "asc");
        if (!OrderSorts.Contains(field) || direction is not ("asc" or "desc"))
        {
            return Refuse(context, 400, $"sort={sort} is not one of the spec's fields with :asc or :desc");
        }
        var selected = _orders.Values
            .Where(o => Modified(o) >= since && Number(o["id"]) is var id && id >= minId && id <= maxId)
            .Select(o => (Order: o, Key: field == "date_modified" ? (IComparable)Modified(o) : Number(o["id"]), Id: Number(o["id"])));
        var sorted = direction == "asc"
            ? selected.OrderBy(o => o.Key).ThenBy(o => o.Id)
            : selected.OrderByDescending(o => o.Key).ThenByDescending(o => o.Id);
        var slice = sorted.Skip((int)((page - 1) * limit)).Take((int)limit).ToList();
        foreach (var (_, _, id) in slice)
        {
            Count($"listed:{id}");
        }
        // V2 answers an empty page with 204.
        return slice.Count == 0 ? Results.NoContent() : Json(new JsonArray(slice.Select(o => (JsonNode)WithConsignments(o.Order, embedding)).ToArray()));
    }

    /// <summary>What <c>include</c> and <c>consignment_structure</c> ask for, or null with the problem.</summary>
    static Embed? Embedding(HttpRequest request, out string? problem)
    {
        problem = null;
        var includes = request.Query["include"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries);
        if (includes.FirstOrDefault(i => !OrderIncludes.Contains(i)) is { } unknown)
        {
            problem = $"include={unknown} is not one of {string.Join(", ", OrderIncludes)}";
            return null;
        }
        var structure = request.Query["consignment_structure"].ToString();
        if (structure is not ("" or "object"))
        {
            problem = $"consignment_structure={structure}: the only value is object";
            return null;
        }
        return new Embed(
            includes.Contains("consignments") || includes.Contains("consignments.line_items"),
            includes.Contains("consignments.line_items"),
            structure == "object");
    }

    sealed record Embed(bool Consignments, bool Lines, bool AsObject);

    JsonObject WithConsignments(JsonObject order, Embed embed)
    {
        var copy = (JsonObject)order.DeepClone();
        if (!embed.Consignments)
        {
            return copy;
        }
        var id = Number(copy["id"]);
        if (!embed.AsObject)
        {
            // Without the object structure the spec only promises a link to the consignments.
            copy["consignments"] = new JsonObject
            {
                ["url"] = $"https://api.bigcommerce.com/stores/{StoreHash}/v2/orders/{id}/consignments",
                ["resource"] = $"/orders/{id}/consignments",
            };
            return copy;
        }
        var lines = _lines.TryGetValue(id, out var stored) ? stored.Select(l => l!.AsObject()).ToList() : [];
        JsonNode Items(IEnumerable<JsonObject> group) => new JsonArray(group.Select(line => embed.Lines && EmbedLines
            ? line.DeepClone()
            : new JsonObject
            {
                ["url"] = $"https://api.bigcommerce.com/stores/{StoreHash}/v2/orders/{id}/products/{line["id"]}",
                ["resource"] = $"/orders/{id}/products/{line["id"]}",
            }).ToArray());

        var pickup = lines.Where(l => Number(l["order_pickup_method_id"]) > 0).ToList();
        var digital = lines.Where(l => Kind(l) == "digital").ToList();
        var certificates = lines.Where(l => Kind(l) == "giftcertificate").ToList();
        var shipped = lines.Except(pickup).Except(digital).Except(certificates).ToList();
        copy["consignments"] = new JsonObject
        {
            ["pickups"] = new JsonArray(pickup.GroupBy(l => Number(l["order_pickup_method_id"])).Select(g => (JsonNode)new JsonObject
            {
                ["id"] = g.Key,
                ["pickup_method_id"] = g.Key,
                ["pickup_method_display_name"] = "Pick Up",
                ["location"] = new JsonObject { ["id"] = 1, ["name"] = "Workshop", ["code"] = "WORKSHOP" },
                ["line_items"] = Items(g),
            }).ToArray()),
            ["shipping"] = new JsonArray(shipped.GroupBy(l => Number(l["order_address_id"])).Select(g => (JsonNode)new JsonObject
            {
                ["id"] = g.Key,
                ["shipping_method"] = "Free Shipping",
                ["line_items"] = Items(g),
                ["items_total"] = g.Sum(l => Number(l["quantity"])),
                ["items_shipped"] = g.Sum(l => Number(l["quantity_shipped"])),
            }).ToArray()),
            ["downloads"] = digital.Count == 0 ? new JsonArray() : new JsonArray(new JsonObject
            {
                ["recipient_email"] = copy["billing_address"]?["email"]?.DeepClone(),
                ["line_items"] = Items(digital),
            }),
            ["email"] = new JsonObject
            {
                ["gift_certificates"] = new JsonArray(certificates.Select(l => (JsonNode)new JsonObject
                {
                    ["recipient_email"] = copy["billing_address"]?["email"]?.DeepClone(),
                    ["line_items"] = Items([l]),
                }).ToArray()),
            },
        };
        return copy;
    }

    /// <summary>A number of a stored line, whether it came from JSON or was set by a test; 0 when null or absent.</summary>
    static long Number(JsonNode? value) => value is null ? 0 : long.Parse(value.ToJsonString(), CultureInfo.InvariantCulture);

    static string? Kind(JsonObject line) => line["type"]?.GetValue<string>();

    /// <summary>
    /// When the order was last modified; never, for the malformed snapshots some tests store (an
    /// empty or missing date), which a listing by modification date then leaves out instead of
    /// failing every later listing of the store.
    /// </summary>
    static DateTimeOffset Modified(JsonObject order) =>
        order["date_modified"] is JsonValue value && value.TryGetValue<string>(out var text)
        && DateTimeOffset.TryParse(text.Replace(" +0000", " +00:00", StringComparison.Ordinal), CultureInfo.InvariantCulture, DateTimeStyles.None, out var modified)
            ? modified
            : DateTimeOffset.MinValue;

    /// <summary>A whole-number parameter <see cref="ValueProblem"/> has let through.</summary>
    static long? Integer(IQueryCollection query, string name) =>
        query[name].ToString() is { Length: > 0 } text ? Integer(text) : null;
}
