using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Api;

/// <summary>The calls the product makes to one store's REST API (Orders V2, Customers V3, Webhooks V3).</summary>
public sealed partial class BigCommerceClient(HttpClient http, IOptions<BigCommerceOptions> options)
{
    const int ProductPageSize = 50;
    const int ListPageSize = 250;

    /// <summary>Customers asked for by id in one request: the default page of Customers V3.</summary>
    public const int CustomerPageSize = 50;

    string Store => options.Value.StoreHash!;

    /// <summary>Asks for an order's product lines inside its consignments (Orders V2).</summary>
    const string WithLines = "include=consignments.line_items&consignment_structure=object";

    /// <summary>
    /// The order and all its product lines, or null when BigCommerce does not know the order.
    /// One request: the lines come inside the order, and only when they cannot be trusted to be
    /// complete (<see cref="EmbeddedLines"/>) are they read from <c>/products</c>.
    /// <see cref="OrderSnapshot.FetchStartedAt"/> is when the order request left: every change
    /// announced before that moment is in the snapshot.
    /// </summary>
    public async Task<OrderSnapshot?> GetOrderAsync(long orderId, CancellationToken cancellationToken)
    {
        var (body, startedAt) = await GetAsync($"stores/{Store}/v2/orders/{orderId}?{WithLines}", cancellationToken);
        if (body is not { } raw)
        {
            return null;
        }
        var order = BigCommerceOrder.Parse(raw);
        if (order.Id != orderId)
        {
            throw new BigCommercePayloadException($"Asked for order {orderId}, BigCommerce returned order {order.Id}");
        }
        return await SnapshotAsync(raw, startedAt, cancellationToken);
    }

    /// <summary>
    /// The orders modified at or after <paramref name="since"/> with ids from
    /// <paramref name="minId"/> to <paramref name="maxId"/> (null: any), each with its lines:
    /// 250 orders a request, the lines inside them; an order whose embedded lines cannot be
    /// trusted costs one request more, for its <c>/products</c>. Every snapshot's
    /// <see cref="OrderSnapshot.FetchStartedAt"/> is when its page was requested. Pages go by id:
    /// an order modified while they are read keeps its place, where by modification time it would
    /// move to the end and shift an unread order onto a page already read. An order that cannot
    /// be read comes as a malformed entry, and the orders after it still come.
    /// </summary>
    public async IAsyncEnumerable<Listed<OrderSnapshot>> ListOrdersAsync(
        DateTimeOffset since, long? minId, long? maxId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = Uri.EscapeDataString(since.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        var ids = (minId is { } min ? $"&min_id={min}" : "") + (maxId is { } max ? $"&max_id={max}" : "");
        for (var page = 1; ; page++)
        {
            var (batch, listedAt) = await GetAsync(
                $"stores/{Store}/v2/orders?min_date_modified={from}{ids}&sort=id:asc&page={page}&limit={ListPageSize}&{WithLines}",
                cancellationToken);
            if (batch is not { ValueKind: JsonValueKind.Array } orders)
            {
                yield break;
            }
            foreach (var order in orders.EnumerateArray())
            {
                yield return await ListedOrderAsync(order, listedAt, cancellationToken);
            }
            if (orders.GetArrayLength() < ListPageSize)
            {
                yield break;
            }
        }
    }

    async Task<Listed<OrderSnapshot>> ListedOrderAsync(JsonElement raw, DateTimeOffset listedAt, CancellationToken cancellationToken) =>
        await ListedAsync(raw, "order", async order =>
        {
            var snapshot = await SnapshotAsync(order, listedAt, cancellationToken);
            return (snapshot.Order.Id, snapshot);
        });

    static async Task<Listed<CustomerSnapshot>> ListedCustomerAsync(JsonElement raw, DateTimeOffset listedAt) =>
        await ListedAsync(raw, "customer", customer =>
        {
            var parsed = BigCommerceCustomer.Parse(customer);
            return Task.FromResult((parsed.Id, new CustomerSnapshot(parsed, listedAt)));
        });

    /// <summary>One entry of a listing as <paramref name="read"/> reads it, or as malformed: not an object, or what <paramref name="read"/> refused.</summary>
    static async Task<Listed<T>> ListedAsync<T>(JsonElement raw, string entity, Func<JsonElement, Task<(long Id, T Snapshot)>> read) where T : class
    {
        if (raw.ValueKind != JsonValueKind.Object)
        {
            return new(null, null, new BigCommercePayloadException($"A listed {entity} is not an object: {raw.ValueKind}"), Digest.Of(raw.GetRawText()));
        }
        try
        {
            var (id, snapshot) = await read(raw);
            return new(id, snapshot, null);
        }
        catch (BigCommercePayloadException e)
        {
            return new(ListedId(raw), null, e, Digest.Of(raw.GetRawText()));
        }
    }

    /// <summary>The id of an entry that cannot be parsed, when it has one that can be.</summary>
    static long? ListedId(JsonElement entry)
    {
        try
        {
            return Json.OptionalInt64(entry, "id") is > 0 and var id ? id : null;
        }
        catch (BigCommercePayloadException)
        {
            return null;
        }
    }

    async Task<OrderSnapshot> SnapshotAsync(JsonElement raw, DateTimeOffset fetchStartedAt, CancellationToken cancellationToken)
    {
        var order = BigCommerceOrder.Parse(EmbeddedLines.WithoutConsignments(raw));
        var lines = EmbeddedLines.Read(raw, order.Id) ?? await ProductPagesAsync(order.Id, cancellationToken);
        return new OrderSnapshot(order, lines, fetchStartedAt);
    }

    async Task<IReadOnlyList<BigCommerceOrderLine>> ProductPagesAsync(long orderId, CancellationToken cancellationToken)
    {
        var lines = new List<BigCommerceOrderLine>();
        for (var page = 1; ; page++)
        {
            var (batch, _) = await GetAsync(
                $"stores/{Store}/v2/orders/{orderId}/products?page={page}&limit={ProductPageSize}", cancellationToken);
            // V2 answers an empty page with 204 No Content rather than [].
            if (batch is not { ValueKind: JsonValueKind.Array } items)
            {
                break;
            }
            lines.AddRange(items.EnumerateArray().Select(BigCommerceOrderLine.Parse));
            if (items.GetArrayLength() < ProductPageSize)
            {
                break;
            }
        }
        return lines;
    }

    /// <summary>
    /// The customer, or null when BigCommerce has no customer with that id (any more); throws
    /// <see cref="BigCommercePayloadException"/> when it cannot be read.
    /// </summary>
    public async Task<CustomerSnapshot?> GetCustomerAsync(long customerId, CancellationToken cancellationToken) =>
        (await GetCustomersAsync([customerId], cancellationToken)).GetValueOrDefault(customerId) switch
        {
            null => null,
            { Snapshot: { } snapshot } => snapshot,
            { Malformed: var malformed } => throw malformed!,
        };

    /// <summary>
    /// The customers BigCommerce knows among <paramref name="customerIds"/>, by id: one request for
    /// up to <see cref="CustomerPageSize"/> of them. An id missing from the answer is a customer
    /// BigCommerce does not know (any more); a customer that cannot be read is a malformed entry,
    /// and fails alone. An entry without a readable id may be any customer the answer lacks, so
    /// each of those is taken as malformed, never as unknown (which would unlink it).
    /// </summary>
    public async Task<IReadOnlyDictionary<long, Listed<CustomerSnapshot>>> GetCustomersAsync(
        IReadOnlyCollection<long> customerIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<long, Listed<CustomerSnapshot>>();
        foreach (var chunk in customerIds.Distinct().Chunk(CustomerPageSize))
        {
            var ids = string.Join(',', chunk.Select(id => id.ToString(CultureInfo.InvariantCulture)));
            var (page, startedAt) = await GetAsync($"stores/{Store}/v3/customers?id:in={ids}&limit={CustomerPageSize}", cancellationToken);
            if (page is not { } body || !body.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                continue;
            }
            var wanted = chunk.ToHashSet();
            BigCommercePayloadException? withoutId = null;
            foreach (var customer in data.EnumerateArray())
            {
                var entry = await ListedCustomerAsync(customer, startedAt);
                if (entry.Id is not { } id)
                {
                    withoutId ??= entry.Malformed;
                }
                else if (wanted.Contains(id))
                {
                    found[id] = entry;
                }
            }
            if (withoutId is not null)
            {
                foreach (var id in chunk.Where(id => !found.ContainsKey(id)))
                {
                    found[id] = new(id, null, withoutId);
                }
            }
        }
        return found;
    }

    /// <summary>
    /// The customers modified at or after <paramref name="since"/>, 250 a request; each
    /// snapshot's <see cref="CustomerSnapshot.FetchStartedAt"/> is when its page was requested.
    /// Pages go by creation time, which a change does not move (see <see cref="ListOrdersAsync"/>).
    /// A customer that cannot be read comes as a malformed entry, and the customers after it still come.
    /// </summary>
    public async IAsyncEnumerable<Listed<CustomerSnapshot>> ListCustomersAsync(
        DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = Uri.EscapeDataString(since.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        for (var page = 1; ; page++)
        {
            var (body, listedAt) = await GetAsync(
                $"stores/{Store}/v3/customers?date_modified:min={from}&sort=date_created:asc&page={page}&limit={ListPageSize}",
                cancellationToken);
            if (body is not { } envelope || !envelope.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }
            foreach (var customer in data.EnumerateArray())
            {
                yield return await ListedCustomerAsync(customer, listedAt);
            }
            if (data.GetArrayLength() < ListPageSize || IsLastPage(envelope))
            {
                yield break;
            }
        }
    }

    static bool IsLastPage(JsonElement envelope) =>
        envelope.TryGetProperty("meta", out var meta)
        && meta.TryGetProperty("pagination", out var pagination)
        && pagination.TryGetProperty("current_page", out var current)
        && pagination.TryGetProperty("total_pages", out var total)
        && current.TryGetInt32(out var currentPage)
        && total.TryGetInt32(out var totalPages)
        && currentPage >= totalPages;

    Task<(JsonElement? Body, DateTimeOffset SentAt)> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, cancellationToken);

    /// <summary>
    /// One call through the retries and the shared budget. Null for 404 and for an empty answer;
    /// any other failure throws, with what BigCommerce said when it refused the request.
    /// </summary>
    async Task<(JsonElement? Body, DateTimeOffset SentAt)> SendAsync(
        HttpMethod method, string path, JsonNode? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add("X-Auth-Token", options.Value.AccessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        // BigCommerce's spec requires Content-Type on every call, GET included; a call without a
        // body carries it on an empty one.
        request.Content = content is null ? new ByteArrayContent([]) : new ByteArrayContent(Encoding.UTF8.GetBytes(content.ToJsonString()));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await http.SendAsync(request, cancellationToken);
        var sentAt = request.Options.TryGetValue(RateLimitHandler.SentAt, out var at) ? at : DateTimeOffset.UtcNow;
        var what = $"{method.Method} {path.Split('?')[0]}";
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.NoContent)
        {
            return (null, sentAt);
        }
        if (!response.IsSuccessStatusCode)
        {
            // After the retry strategy gave up: a 5xx or 429 is worth another try later, anything
            // else (401, 403, 400, 422) means the configuration or the request is wrong.
            var transient = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
            var said = await RefusalAsync(response, cancellationToken);
            throw new BigCommerceRequestException(
                $"BigCommerce answered {(int)response.StatusCode} to {what}{(said is null ? "" : ": " + said)}", response.StatusCode, transient);
        }
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (body.Length == 0)
        {
            return (null, sentAt);
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            return (StorableJson.Of(document.RootElement.Clone()), sentAt);
        }
        catch (JsonException e)
        {
            throw new BigCommercePayloadException($"{what} returned malformed JSON: {e.Message}");
        }
    }

    /// <summary>The title and field errors of BigCommerce's error body, e.g. why it refused a hook.</summary>
    static async Task<string?> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            var title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var errors = root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object
                ? string.Join("; ", e.EnumerateObject().Select(p => $"{p.Name}: {(p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.GetRawText())}"))
                : null;
            return string.Join(" ", new[] { title, errors is { Length: > 0 } ? $"({errors})" : null }.OfType<string>()) is { Length: > 0 } said ? said : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>BigCommerce could not be used for this request.</summary>
public sealed class BigCommerceRequestException(string message, HttpStatusCode statusCode, bool isTransient)
    : Exception(message)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>True when trying again later may succeed (5xx, 429, timeouts).</summary>
    public bool IsTransient { get; } = isTransient;
}
