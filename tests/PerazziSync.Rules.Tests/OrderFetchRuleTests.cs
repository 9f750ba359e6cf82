using System.Text.Json;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Sync;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>When an order's embedded lines are all of its lines, and how a round of fetches asks for its orders.</summary>
public sealed class OrderFetchRuleTests
{
    static string Line(long id, long orderId = 218, int quantity = 1) =>
        $$"""{"id":{{id}},"order_id":{{orderId}},"product_id":77,"sku":"S-{{id}}","quantity":{{quantity}},"price_inc_tax":"65.2300"}""";

    static IReadOnlyList<BigCommerceOrderLine>? Read(string consignments, int itemsTotal)
    {
        using var document = JsonDocument.Parse($$"""{"id":218,"items_total":{{itemsTotal}},"consignments":{{consignments}}}""");
        return EmbeddedLines.Read(document.RootElement.Clone(), 218);
    }

    static string Shipping(params string[] lines) =>
        $$$"""{"pickups":[],"shipping":[{"id":51,"line_items":[{{{string.Join(',', lines)}}}]}],"downloads":[],"email":{"gift_certificates":[]}}""";

    [Fact]
    public void Lines_spread_over_every_kind_of_consignment_are_the_orders_lines()
    {
        var lines = Read($$$"""
            {"pickups":[{"id":1,"line_items":[{{{Line(1)}}}]}],
             "shipping":[{"id":51,"line_items":[{{{Line(2, quantity: 2)}}}]},{"id":52,"line_items":[{{{Line(3)}}}]}],
             "downloads":[{"recipient_email":"a@example.com","line_items":[{{{Line(4)}}}]}],
             "email":{"gift_certificates":[{"recipient_email":"a@example.com","line_items":[{{{Line(5)}}}]}]}}
            """, 6);
        Assert.Equal([1L, 2, 3, 4, 5], lines!.Select(l => l.Id));
    }

    [Fact]
    public void An_order_without_lines_has_none()
    {
        Assert.Empty(Read("""{"pickups":[],"shipping":[],"downloads":[],"email":{"gift_certificates":[]}}""", 0)!);
    }

    [Theory]
    [InlineData("no consignments structure", """{"url":"https://api.bigcommerce.com/stores/x/v2/orders/218/consignments","resource":"/orders/218/consignments"}""", 1)]
    [InlineData("links instead of lines", """{"shipping":[{"id":51,"line_items":[{"url":"u","resource":"/orders/218/products/1"}]}]}""", 1)]
    [InlineData("a digital consignment whose line_items is one link, as one spec example has it", """{"downloads":[{"line_items":{"url":"u","resource":"r"}}]}""", 1)]
    [InlineData("shipping that is not a list", """{"shipping":{"id":51}}""", 1)]
    public void Consignments_that_do_not_carry_the_lines_themselves_are_not_trusted(string why, string consignments, int itemsTotal)
    {
        Assert.True(Read(consignments, itemsTotal) is null, why);
    }

    [Fact]
    public void Lines_that_do_not_add_up_to_the_item_count_are_not_trusted()
    {
        Assert.Null(Read(Shipping(Line(1), Line(2)), 4));
        Assert.NotNull(Read(Shipping(Line(1), Line(2, quantity: 3)), 4));
    }

    [Fact]
    public void A_line_of_another_order_or_twice_the_same_line_is_not_trusted()
    {
        Assert.Null(Read(Shipping(Line(1), Line(2, orderId: 219)), 2));
        Assert.Null(Read(Shipping(Line(1), Line(1)), 2));
    }

    [Fact]
    public void More_lines_than_a_products_page_less_one_are_read_page_by_page()
    {
        var most = Enumerable.Range(1, EmbeddedLines.MostTrusted).Select(i => Line(i)).ToArray();
        Assert.NotNull(Read(Shipping(most), EmbeddedLines.MostTrusted));
        Assert.Null(Read(Shipping([.. most, Line(999)]), EmbeddedLines.MostTrusted + 1));
    }

    [Fact]
    public void The_stored_order_is_the_same_with_or_without_its_embedded_consignments()
    {
        using var plain = JsonDocument.Parse("""{"id":218,"status":"Shipped","items_total":1}""");
        using var embedded = JsonDocument.Parse($$"""{"id":218,"status":"Shipped","items_total":1,"consignments":{{Shipping(Line(1))}}}""");
        Assert.Equal(plain.RootElement.GetRawText(), EmbeddedLines.WithoutConsignments(embedded.RootElement).GetRawText());
        Assert.Equal(plain.RootElement.GetRawText(), EmbeddedLines.WithoutConsignments(plain.RootElement).GetRawText());
    }

    [Fact]
    public void Orders_close_by_id_are_listed_together_and_a_far_one_alone()
    {
        var runs = OrderRanges.Split([5, 3, 900, 3, 1010, 1011, 50_000]);
        Assert.Equal([[3L, 5, 900], [1010, 1011], [50_000]], runs.Select(r => r.ToArray()).ToArray());
        Assert.All(runs, r => Assert.True(r[^1] - r[0] < OrderRanges.WidestSpan));
    }
}
