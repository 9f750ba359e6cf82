using System.Text.Json;

namespace PerazziSync.BigCommerce.Records;

/// <summary>
/// The product lines an order carries when it is fetched with
/// <c>include=consignments.line_items&amp;consignment_structure=object</c>: the same objects
/// <c>/orders/{id}/products</c> returns, spread over the order's pickup, shipping, digital and
/// gift-certificate consignments. One request instead of two, when they can be trusted to be all
/// of the order's lines (docs/sources.md); otherwise the caller reads <c>/products</c>.
/// </summary>
public static class EmbeddedLines
{
    /// <summary>
    /// More lines than one page of <c>/products</c> (50): whether an embedding that long is ever
    /// cut is not documented, so such an order's lines are read page by page.
    /// </summary>
    public const int MostTrusted = 49;

    /// <summary>
    /// The order's lines from its consignments, or null when they cannot be trusted to be complete:
    /// no consignments object, a line given as a link instead of the line itself, a line of
    /// another order or twice, more lines than <see cref="MostTrusted"/>, or quantities that do
    /// not add up to the order's <c>items_total</c>.
    /// </summary>
    public static IReadOnlyList<BigCommerceOrderLine>? Read(JsonElement order, long orderId)
    {
        if (!order.TryGetProperty("consignments", out var consignments) || consignments.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        var lines = new List<BigCommerceOrderLine>();
        var groups = new List<JsonElement>();
        var kinds = 0;
        foreach (var name in new[] { "pickups", "shipping", "downloads" })
        {
            if (consignments.TryGetProperty(name, out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    return null;
                }
                groups.AddRange(list.EnumerateArray());
                kinds++;
            }
        }
        if (consignments.TryGetProperty("email", out var email) && email.ValueKind == JsonValueKind.Object
            && email.TryGetProperty("gift_certificates", out var certificates))
        {
            if (certificates.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            groups.AddRange(certificates.EnumerateArray());
            kinds++;
        }
        // Without consignment_structure=object, consignments is a link ({url, resource}).
        if (kinds == 0)
        {
            return null;
        }
        foreach (var consignment in groups)
        {
            if (!consignment.TryGetProperty("line_items", out var items) || items.ValueKind != JsonValueKind.Array)
            {
                return null;
            }
            foreach (var item in items.EnumerateArray())
            {
                // Without include=consignments.line_items the entries are links ({url, resource}).
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("id", out _) || !item.TryGetProperty("quantity", out _)
                    || !item.TryGetProperty("order_id", out var owner) || !owner.TryGetInt64(out var ownerId) || ownerId != orderId)
                {
                    return null;
                }
                lines.Add(BigCommerceOrderLine.Parse(item));
            }
        }
        if (lines.Count > MostTrusted || lines.Select(l => l.Id).Distinct().Count() != lines.Count)
        {
            return null;
        }
        var itemsTotal = order.TryGetProperty("items_total", out var total) && total.TryGetDecimal(out var count) ? count : (decimal?)null;
        return itemsTotal == lines.Sum(l => (decimal)(l.Quantity ?? 0)) ? lines : null;
    }

    /// <summary>
    /// The order without its consignments, as the stored raw payload keeps it: the same whichever
    /// way the order was read (the lines have rows of their own).
    /// </summary>
    public static JsonElement WithoutConsignments(JsonElement order)
    {
        if (order.ValueKind != JsonValueKind.Object || !order.TryGetProperty("consignments", out _))
        {
            return order;
        }
        var node = System.Text.Json.Nodes.JsonNode.Parse(order.GetRawText())!.AsObject();
        node.Remove("consignments");
        using var document = JsonDocument.Parse(node.ToJsonString());
        return document.RootElement.Clone();
    }
}
