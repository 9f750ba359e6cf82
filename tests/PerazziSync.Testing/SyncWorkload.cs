using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace PerazziSync.Testing;

/// <summary>One callback to deliver: its route, its <c>webhook-id</c> and its body.</summary>
public sealed record Delivery(bool Pos, string WebhookId, string Body);

/// <summary>
/// A reproducible stream of callbacks for many entities, with duplicates and in shuffled order,
/// and the rows it must leave behind whatever the order of arrival and however many hosts.
/// </summary>
public sealed class SyncWorkload
{
    /// <summary>A verified gun of the fixture user Jane Doe: POS records for it are applied.</summary>
    public const string VerifiedSerial = "HT-009871";

    static readonly DateTimeOffset Base = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    SyncWorkload(IReadOnlyList<Delivery> deliveries, IReadOnlyList<long> orderIds, IReadOnlyDictionary<string, int> finalVersions)
    {
        Deliveries = deliveries;
        OrderIds = orderIds;
        FinalVersions = finalVersions;
    }

    public IReadOnlyList<Delivery> Deliveries { get; }

    public IReadOnlyList<long> OrderIds { get; }

    /// <summary>The version each POS work order must end at: the newest one sent.</summary>
    public IReadOnlyDictionary<string, int> FinalVersions { get; }

    /// <summary>
    /// <paramref name="workOrders"/> POS work orders with <paramref name="versions"/> versions each,
    /// and <paramref name="orders"/> BigCommerce orders (of customer 11, Jane Doe) with
    /// <paramref name="callbacksPerOrder"/> callbacks each. About one delivery in five is sent
    /// twice with the same webhook-id, as a sender retrying would, or, with
    /// <paramref name="copies"/>, every delivery that many times, each copy under a webhook-id of
    /// its own (a sender re-sending the change, a replay), so that every copy reaches the workers
    /// rather than being answered as a duplicate by the receiver. One POS version in five is never
    /// sent (the first always is). Everything is shuffled with <paramref name="seed"/>.
    /// </summary>
    public static SyncWorkload Create(
        int workOrders, int versions, int orders, int callbacksPerOrder, string prefix, int seed = 7, int copies = 0)
    {
        var random = new Random(seed);
        var deliveries = new List<Delivery>();
        var finalVersions = new Dictionary<string, int>();
        for (var w = 0; w < workOrders; w++)
        {
            var id = string.Create(CultureInfo.InvariantCulture, $"{prefix}-{w:D4}");
            var sent = Enumerable.Range(0, versions).Where(v => v == 0 || random.Next(5) != 0).ToList();
            finalVersions[id] = sent.Max();
            foreach (var version in sent)
            {
                deliveries.Add(new Delivery(true, WebhookId(random), PosRecord(id, version)));
            }
        }
        var orderIds = Enumerable.Range(0, orders).Select(o => 100_000L + o).ToList();
        foreach (var orderId in orderIds)
        {
            for (var c = 0; c < callbacksPerOrder; c++)
            {
                var scope = c == 0 ? "webhook-order-created.json" : "webhook-order-updated.json";
                deliveries.Add(new Delivery(false, WebhookId(random), BigCommerceFixtures.Callback(scope, ProductUnderTest.StoreHash, orderId)));
            }
        }
        var retried = copies > 0
            ? deliveries.SelectMany(d => Enumerable.Range(1, copies - 1).Select(_ => d with { WebhookId = WebhookId(random) })).ToList()
            : deliveries.Where(_ => random.Next(5) == 0).ToList();
        deliveries.AddRange(retried);
        return new SyncWorkload(deliveries.OrderBy(_ => random.Next()).ToList(), orderIds, finalVersions);
    }

    /// <summary>Puts every order, its lines and customer 11 into the fake store: the state the rows must end in.</summary>
    public void Stock(FakeBigCommerce store)
    {
        store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        foreach (var orderId in OrderIds)
        {
            store.PutOrder(StockedOrder(orderId), BigCommerceFixtures.Lines(orderId));
        }
    }

    static JsonObject StockedOrder(long orderId)
    {
        var order = BigCommerceFixtures.Order(orderId, 11, Base.AddMinutes(orderId % 97), orderId % 3 == 0 ? "Shipped" : "Awaiting Fulfillment");
        order["total_inc_tax"] = string.Create(CultureInfo.InvariantCulture, $"{orderId % 1000}.25");
        return order;
    }

    /// <summary>
    /// The rows <see cref="RowsAsync"/> must read once every delivery is applied, whatever their
    /// order of arrival: each work order at the newest version sent, each order and its lines as
    /// <see cref="Stock"/> put them in the store, all of them Jane's.
    /// </summary>
    public List<string> ExpectedRows()
    {
        var rows = new List<string>();
        foreach (var (id, version) in FinalVersions)
        {
            var record = JsonNode.Parse(PosRecord(id, version))!;
            rows.Add(ServiceEventRow(id, Text(record, "status"), Text(record, "work_summary"),
                DateTimeOffset.Parse(Text(record, "updated_at"), CultureInfo.InvariantCulture), PortalUsers.Jane, VerifiedSerial));
        }
        foreach (var orderId in OrderIds)
        {
            var order = StockedOrder(orderId);
            rows.Add(OrderRow(orderId.ToString(CultureInfo.InvariantCulture), Text(order, "status"),
                decimal.Parse(Text(order, "total_inc_tax"), CultureInfo.InvariantCulture), Text(order, "currency_code"),
                Rfc2822(Text(order, "date_created")), Rfc2822(Text(order, "date_modified")), "11", PortalUsers.Jane, archivedAt: null));
            foreach (var line in BigCommerceFixtures.Lines(orderId))
            {
                rows.Add(LineRow(orderId.ToString(CultureInfo.InvariantCulture), line!["id"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture),
                    Text(line, "sku"), line["quantity"]!.GetValue<int>(), decimal.Parse(Text(line, "price_inc_tax"), CultureInfo.InvariantCulture)));
            }
        }
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    /// <summary>
    /// Sends every delivery, spread over the receivers, <paramref name="parallel"/> at a time;
    /// returns the status of each.
    /// </summary>
    public async Task<IReadOnlyList<HttpStatusCode>> SendAsync(ProductUnderTest product, int parallel = 16, CancellationToken cancellationToken = default)
    {
        var statuses = new HttpStatusCode[Deliveries.Count];
        var receivers = product.ReceiverUrls.Count;
        await Parallel.ForAsync(0, Deliveries.Count, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken },
            async (i, _) =>
            {
                var delivery = Deliveries[i];
                var sender = delivery.Pos ? product.PosWebhooksAt(i % receivers) : product.BigCommerceWebhooksAt(i % receivers);
                using var response = await sender.SendAsync(delivery.Body, delivery.WebhookId);
                statuses[i] = response.StatusCode;
            });
        return statuses;
    }

    /// <summary>
    /// The synced rows this workload touches, one line each and sorted, in a form two runs can be
    /// compared by and <see cref="ExpectedRows"/> is written in.
    /// </summary>
    public static async Task<List<string>> RowsAsync(NpgsqlConnection connection, string prefix)
    {
        var events = await connection.QueryAsync<(string Id, string Status, string? Summary, DateTime Modified, Guid Owner, string Serial)>("""
            select e.source_record_id, e.status, e.work_summary, e.source_modified_at, e.owner_user_id, a.serial_number
            from service_events e join perazzi_assets a on a.id = e.asset_id
            where e.source_record_id like @Prefix || '-%'
            """, new { Prefix = prefix });
        var orders = await connection.QueryAsync<(string Id, string? Status, decimal? Total, string? Currency, DateTime? Placed, DateTime? Modified,
            string Customer, Guid User, DateTime? Archived)>("""
            select o.bigcommerce_order_id, o.status, o.total_amount, o.currency, o.placed_at, o.source_modified_at,
                   c.bigcommerce_customer_id, c.user_id, o.archived_at
            from commerce_orders o join commerce_customers c on c.id = o.commerce_customer_id
            """);
        var lines = await connection.QueryAsync<(string Order, string Line, string? Sku, int? Quantity, decimal? Price)>("""
            select o.bigcommerce_order_id, i.bigcommerce_line_id, i.sku, i.quantity, i.price
            from commerce_order_items i join commerce_orders o on o.id = i.commerce_order_id
            """);
        var rows = events.Select(e => ServiceEventRow(e.Id, e.Status, e.Summary, Utc(e.Modified), e.Owner, e.Serial))
            .Concat(orders.Select(o => OrderRow(o.Id, o.Status, o.Total, o.Currency, Utc(o.Placed), Utc(o.Modified), o.Customer, o.User, Utc(o.Archived))))
            .Concat(lines.Select(l => LineRow(l.Order, l.Line, l.Sku, l.Quantity, l.Price)))
            .ToList();
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }

    static string ServiceEventRow(string id, string status, string? summary, DateTimeOffset modified, Guid owner, string serial) =>
        string.Create(CultureInfo.InvariantCulture, $"service_event {id} {status} '{summary}' modified {Time(modified)} owner {owner} serial {serial}");

    static string OrderRow(
        string id, string? status, decimal? total, string? currency, DateTimeOffset? placed, DateTimeOffset? modified, string customer, Guid user,
        DateTimeOffset? archivedAt) =>
        string.Create(CultureInfo.InvariantCulture,
            $"order {id} {status} {Money(total)} {currency} placed {Time(placed)} modified {Time(modified)} customer {customer} user {user} archived {Time(archivedAt)}");

    static string LineRow(string orderId, string lineId, string? sku, int? quantity, decimal? price) =>
        string.Create(CultureInfo.InvariantCulture, $"line {orderId} {lineId} {sku} x{quantity} {Money(price)}");

    static string Time(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";

    static string Money(decimal? amount) => amount?.ToString("0.00########", CultureInfo.InvariantCulture) ?? "-";

    static DateTimeOffset? Utc(DateTime? at) => at is { } value ? new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Utc)) : null;

    static DateTimeOffset Utc(DateTime at) => new(DateTime.SpecifyKind(at, DateTimeKind.Utc));

    static string Text(JsonNode node, string property) => node[property]!.GetValue<string>();

    /// <summary>BigCommerce's V2 dates, e.g. <c>Tue, 05 Mar 2019 21:40:11 +0000</c>.</summary>
    static DateTimeOffset Rfc2822(string text) =>
        DateTimeOffset.ParseExact(text, "ddd, dd MMM yyyy HH:mm:ss zzz", CultureInfo.InvariantCulture);

    static string WebhookId(Random random) => "msg_" + random.NextInt64().ToString("x16", CultureInfo.InvariantCulture);

    static string PosRecord(string id, int version) => new JsonObject
    {
        ["source_record_id"] = id,
        ["serial_number"] = VerifiedSerial,
        ["status"] = version < 3 ? "received" : version < 6 ? "in_service" : "completed",
        ["service_date"] = Base.AddDays(version).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        ["work_summary"] = string.Create(CultureInfo.InvariantCulture, $"version {version}"),
        ["attachments"] = new JsonArray(),
        ["updated_at"] = Base.AddMinutes(version).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
    }.ToJsonString();
}
