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

    string Store => options.Value.StoreHash!;

    /// <summary>
    /// The order and all its product lines, or null when BigCommerce does not know the order.
    /// <see cref="OrderSnapshot.FetchStartedAt"/> is when the order request left: every change
    /// announced before that moment is in the snapshot.
    /// </summary>
    public async Task<OrderSnapshot?> GetOrderAsync(long orderId, CancellationToken cancellationToken)
    {
        var (body, startedAt) = await GetAsync($"stores/{Store}/v2/orders/{orderId}", cancellationToken);
        if (body is not { } raw)
        {
            return null;
        }
        var order = BigCommerceOrder.Parse(raw);
        if (order.Id != orderId)
        {
            throw new BigCommercePayloadException($"Asked for order {orderId}, BigCommerce returned order {order.Id}");
        }
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
        return new OrderSnapshot(order, lines, startedAt);
    }

    /// <summary>The customer, or null when BigCommerce has no customer with that id (any more).</summary>
    public async Task<CustomerSnapshot?> GetCustomerAsync(long customerId, CancellationToken cancellationToken)
    {
        var (page, startedAt) = await GetAsync(
            $"stores/{Store}/v3/customers?id:in={customerId}", cancellationToken);
        if (page is not { } body || !body.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        foreach (var customer in data.EnumerateArray())
        {
            if (customer.TryGetProperty("id", out var id) && id.TryGetInt64(out var value) && value == customerId)
            {
                return new CustomerSnapshot(BigCommerceCustomer.Parse(customer), startedAt);
            }
        }
        return null;
    }

    /// <summary>Ids and modification times of orders modified at or after <paramref name="since"/>, oldest first.</summary>
    public async IAsyncEnumerable<ModifiedEntity> ListOrdersModifiedSinceAsync(
        DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = Uri.EscapeDataString(since.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'+00:00'", CultureInfo.InvariantCulture));
        for (var page = 1; ; page++)
        {
            var (batch, listedAt) = await GetAsync(
                $"stores/{Store}/v2/orders?min_date_modified={from}&sort=date_modified:asc&page={page}&limit={ListPageSize}",
                cancellationToken);
            if (batch is not { ValueKind: JsonValueKind.Array } orders)
            {
                yield break;
            }
            foreach (var order in orders.EnumerateArray())
            {
                var parsed = BigCommerceOrder.Parse(order);
                yield return new ModifiedEntity(parsed.Id, parsed.DateModified, listedAt);
            }
            if (orders.GetArrayLength() < ListPageSize)
            {
                yield break;
            }
        }
    }

    /// <summary>Ids and modification times of customers modified at or after <paramref name="since"/>.</summary>
    public async IAsyncEnumerable<ModifiedEntity> ListCustomersModifiedSinceAsync(
        DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var from = Uri.EscapeDataString(since.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        for (var page = 1; ; page++)
        {
            var (body, listedAt) = await GetAsync(
                $"stores/{Store}/v3/customers?date_modified:min={from}&sort=date_modified:asc&page={page}&limit={ListPageSize}",
                cancellationToken);
            if (body is not { } envelope || !envelope.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                yield break;
            }
            foreach (var customer in data.EnumerateArray())
            {
                var parsed = BigCommerceCustomer.Parse(customer);
                yield return new ModifiedEntity(parsed.Id, parsed.DateModified, listedAt);
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
