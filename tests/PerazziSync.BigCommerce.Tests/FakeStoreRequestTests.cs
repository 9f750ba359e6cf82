using System.Net;
using System.Net.Http.Headers;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// The fake store takes the query formats of the Orders V2 and Customers V3 specs the product
/// sends, and refuses (and counts) what the specs do not have, so the product's tests ending with
/// no refusal prove its requests conform.
/// </summary>
public sealed class FakeStoreRequestTests : IAsyncLifetime
{
    FakeBigCommerce _store = null!;
    HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _store = await FakeBigCommerce.StartAsync(ProductUnderTest.StoreHash);
        _http = new HttpClient { BaseAddress = new Uri(_store.BaseUrl + $"/stores/{ProductUnderTest.StoreHash}/") };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _store.DisposeAsync();
    }

    async Task<HttpStatusCode> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Content = new ByteArrayContent([]) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Auth-Token", FakeBigCommerce.AccessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    [Theory]
    [InlineData("v2/orders?min_date_modified=2026-11-28T01%3A00%3A00%2B00%3A00&sort=id:asc&page=1&limit=250")]
    [InlineData("v2/orders?min_date_modified=2017-04-20T11%3A32%3A00.000-04%3A00")]
    [InlineData("v2/orders?min_date_modified=Thu%2C%2020%20Apr%202017%2011%3A32%3A00%20-0400&min_id=5&max_id=9")]
    [InlineData("v2/orders/5/products?page=2&limit=50")]
    [InlineData("v3/customers?date_modified:min=2026-11-28T01%3A00%3A00Z&sort=date_created:asc&page=1&limit=250")]
    [InlineData("v3/customers?date_modified:min=2024-05-14T09%3A34%3A00")]
    [InlineData("v3/customers?date_modified:min=2024-05-14&id:in=4,5,6&limit=50")]
    public async Task A_read_in_the_specs_formats_is_answered(string path)
    {
        Assert.Contains(await GetAsync(path), new[] { HttpStatusCode.OK, HttpStatusCode.NoContent, HttpStatusCode.NotFound });
        Assert.True(_store.BadRequests == 0, string.Join("\n", _store.Refusals));
    }

    [Theory]
    [InlineData("v2/orders?min_date_modified=2026-11-28", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?min_date_modified=2026-11-28T01%3A00%3A00", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?min_date_modified=11%2F28%2F2026%2001%3A00%3A00", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?min_date_modified=yesterday", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?page=0", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?limit=ten", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?min_id=1.5", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders?page=1&page=2", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders/5/products?page=x", HttpStatusCode.BadRequest)]
    [InlineData("v2/orders/5/products?limit=0", HttpStatusCode.BadRequest)]
    [InlineData("v3/customers?id:in=4,five", HttpStatusCode.UnprocessableEntity)]
    [InlineData("v3/customers?date_modified:min=28.11.2026", HttpStatusCode.UnprocessableEntity)]
    [InlineData("v3/customers?date_modified:min=last%20Tuesday", HttpStatusCode.UnprocessableEntity)]
    [InlineData("v3/customers?page=-1", HttpStatusCode.UnprocessableEntity)]
    [InlineData("v3/customers?id:in=4&id:in=5", HttpStatusCode.BadRequest)]
    public async Task A_read_out_of_the_specs_formats_is_refused_and_counted(string path, HttpStatusCode refusal)
    {
        Assert.Equal(refusal, await GetAsync(path));
        Assert.Equal(1, _store.BadRequests);
    }
}
