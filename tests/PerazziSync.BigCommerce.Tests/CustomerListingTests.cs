using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using PerazziSync.BigCommerce.Api;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// The reconciliation's listing of customers (Customers V3, <c>date_modified:min</c>, sorted by
/// creation, 250 a page) against a store with more customers than a page; the client runs
/// in-process against the fake store over HTTP.
/// </summary>
public sealed class CustomerListingTests : IAsyncLifetime
{
    InProcessStore _sync = null!;

    FakeBigCommerce _store = null!;

    public async Task InitializeAsync()
    {
        _sync = await InProcessStore.StartAsync();
        _store = _sync.Store;
    }

    public async Task DisposeAsync() => await _sync.DisposeAsync();

    static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    void PutCustomer(long id, DateTimeOffset created, DateTimeOffset modified)
    {
        var customer = BigCommerceFixtures.Customer(id, $"buyer{id}@example.com");
        customer["date_created"] = Iso(created);
        customer["date_modified"] = Iso(modified);
        _store.PutCustomer(customer);
    }

    [Fact]
    public async Task A_listing_reads_every_page_once_in_creation_order_and_only_the_customers_modified_since()
    {
        var since = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds());
        var created = since.AddYears(-1);
        // 520 customers, created in the reverse order of their ids; the first 20 last changed
        // before the listing's start, the other 500 after it: two full pages.
        for (var n = 1; n <= 520; n++)
        {
            PutCustomer(7000 + n, created.AddMinutes(520 - n), n <= 20 ? since.AddDays(-1) : since.AddSeconds(n));
        }

        var listed = new List<long>();
        await foreach (var entry in _sync.Get<BigCommerceClient>().ListCustomersAsync(since, CancellationToken.None))
        {
            listed.Add(entry.Snapshot!.Customer.Id);
        }

        Assert.Equal(Enumerable.Range(21, 500).Select(n => 7000L + n).Reverse(), listed);
        // The second page is full, and its pagination says it is the last: no third request.
        Assert.Equal(2, _store.CustomerListings);
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Fact]
    public async Task The_fake_store_pages_customers_as_asked_and_refuses_a_sort_the_spec_does_not_have()
    {
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        for (var id = 1; id <= 5; id++)
        {
            PutCustomer(id, at.AddMinutes(id), at.AddMinutes(id));
        }
        using var http = new HttpClient { BaseAddress = new Uri(_store.BaseUrl + $"/stores/{ProductUnderTest.StoreHash}/v3/") };
        async Task<(HttpStatusCode Status, JsonNode? Body)> GetAsync(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Content = new ByteArrayContent([]) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("X-Auth-Token", FakeBigCommerce.AccessToken);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
        }

        var (status, page) = await GetAsync("customers?sort=date_created:desc&page=2&limit=2");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([3L, 2L], page!["data"]!.AsArray().Select(c => c!["id"]!.GetValue<long>()));
        var pagination = page["meta"]!["pagination"]!;
        Assert.Equal((5, 2, 2, 2, 3), (pagination["total"]!.GetValue<int>(), pagination["count"]!.GetValue<int>(),
            pagination["per_page"]!.GetValue<int>(), pagination["current_page"]!.GetValue<int>(), pagination["total_pages"]!.GetValue<int>()));
        Assert.Equal(0, _store.BadRequests);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await GetAsync("customers?sort=id:asc")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await GetAsync("customers?sort=date_created")).Status);
        Assert.Equal(2, _store.BadRequests);
    }
}
