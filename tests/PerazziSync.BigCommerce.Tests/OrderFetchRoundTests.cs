using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.Testing;
using PerazziSync.Worker.BigCommerce;
using Xunit;

namespace PerazziSync.BigCommerce.Tests;

/// <summary>
/// The worker's rounds of order fetches in-process, against the fake store over HTTP and the real
/// database: which callbacks a round answers, how few requests it makes, and how one bad order
/// or a failed request stays with the callbacks it concerns.
/// </summary>
public sealed class OrderFetchRoundTests : IAsyncLifetime
{
    static readonly TimeSpan ClockSkew = TimeSpan.FromMilliseconds(250);

    InProcessStore _sync = null!;

    FakeBigCommerce _store = null!;

    public async Task InitializeAsync()
    {
        _sync = await InProcessStore.StartAsync(
            new Dictionary<string, string?> { ["BigCommerce:ClockSkew"] = ClockSkew.ToString() },
            services =>
            {
                services.AddOptions<BigCommerceSyncOptions>().BindConfiguration(BigCommerceSyncOptions.Section);
                services.AddSingleton<OrderFetches>();
            });
        _store = _sync.Store;
    }

    public async Task DisposeAsync() => await _sync.DisposeAsync();

    OrderFetches Fetches => _sync.Get<OrderFetches>();

    void PutOrder(long id, long customerId = 11, DateTimeOffset? modified = null) =>
        _store.PutOrder(BigCommerceFixtures.Order(id, customerId, modified ?? DateTimeOffset.UtcNow.AddSeconds(-5)), BigCommerceFixtures.Lines(id));

    /// <summary>Starts a round on <paramref name="orderId"/> and keeps it waiting for the store, so the next callbacks make the next round.</summary>
    async Task<Task<FetchedOrder>> RoundUnderWayAsync(long orderId)
    {
        _store.Hold();
        var held = _store.HeldRequests;
        var fetch = Fetches.FetchAsync(orderId, DateTimeOffset.UtcNow - ClockSkew, CancellationToken.None);
        await ProductUnderTest.EventuallyAsync($"the fetch of order {orderId} under way", () => Task.FromResult(_store.HeldRequests), n => n > held);
        return fetch;
    }

    [Fact]
    public async Task A_callback_received_after_its_orders_fetch_started_waits_for_a_fetch_that_started_after_it()
    {
        PutOrder(8001);
        var receivedBefore = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(2);
        var first = Fetches.FetchAsync(8001, receivedBefore, CancellationToken.None);
        _store.Hold();
        await ProductUnderTest.EventuallyAsync("the fetch of order 8001 under way", () => Task.FromResult(_store.HeldRequests), n => n == 1);

        // Received before the fetch started: the fetch under way covers it.
        var early = Fetches.FetchAsync(8001, receivedBefore, CancellationToken.None);
        // Received after: the change it announces may be missing from that fetch.
        var receivedAfter = DateTimeOffset.UtcNow;
        var late = Fetches.FetchAsync(8001, receivedAfter, CancellationToken.None);
        _store.Release();

        var (one, two, three) = (await first, await early, await late);
        Assert.Equal(one.Snapshot!.FetchStartedAt, two.Snapshot!.FetchStartedAt);
        Assert.True(three.Snapshot!.FetchStartedAt > receivedAfter + ClockSkew, $"a fetch started at {three.Snapshot.FetchStartedAt:O} answered a callback received at {receivedAfter:O}");
        Assert.Equal(2, _store.OrderFetches(8001));
    }

    [Fact]
    public async Task Orders_awaited_together_are_listed_in_one_request_and_those_the_listing_misses_are_fetched_alone()
    {
        _store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        PutOrder(9999, customerId: 0);
        var blocker = await RoundUnderWayAsync(9999);
        var listed = Enumerable.Range(8101, 20).Select(i => (long)i).ToList();
        foreach (var id in listed)
        {
            PutOrder(id);
        }
        // A callback a sender retried long after the change: the order's modification is too old for the listing.
        PutOrder(8150, modified: DateTimeOffset.UtcNow.AddHours(-2));
        // An order BigCommerce no longer has.
        var awaited = listed.Append(8150).Append(8160)
            .ToDictionary(id => id, id => Fetches.FetchAsync(id, DateTimeOffset.UtcNow - ClockSkew, CancellationToken.None));
        await Task.Delay(500);
        _store.Release();
        await blocker;

        var answers = new Dictionary<long, FetchedOrder>();
        foreach (var (id, answer) in awaited)
        {
            answers[id] = await answer;
        }
        Assert.Equal(1, _store.OrderListings);
        Assert.All(listed, id => Assert.Equal((0, 1, 2), (_store.OrderFetches(id), _store.OrderListed(id), answers[id].Snapshot!.Lines.Count)));
        Assert.Equal(1, _store.OrderFetches(8150));
        Assert.Equal(2, answers[8150].Snapshot!.Lines.Count);
        Assert.Equal(1, _store.OrderFetches(8160));
        Assert.Null(answers[8160].Snapshot);
        // Their customer has no row yet: it was fetched once for all of them, and handed to each.
        Assert.Equal(1, _store.CustomerFetches(11));
        Assert.All(listed, id => Assert.Equal(("janedoe@example.com", true), (answers[id].Customer?.Customer.Email, answers[id].CustomerLooked)));
        Assert.Equal(0, _store.BadRequests);
    }

    [Fact]
    public async Task An_order_the_store_returns_malformed_fails_alone_and_a_failed_request_fails_only_its_callbacks_until_they_retry()
    {
        _store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        PutOrder(9999, customerId: 0);
        var blocker = await RoundUnderWayAsync(9999);
        foreach (var id in new long[] { 8201, 8202, 8203, 8204 })
        {
            PutOrder(id);
        }
        var malformed = BigCommerceFixtures.Order(8203, 11, DateTimeOffset.UtcNow.AddSeconds(-5));
        malformed["total_inc_tax"] = "a lot";
        _store.PutOrder(malformed, BigCommerceFixtures.Lines(8203));
        var awaited = new long[] { 8201, 8202, 8203, 8204 }
            .ToDictionary(id => id, id => Fetches.FetchAsync(id, DateTimeOffset.UtcNow - ClockSkew, CancellationToken.None));
        await Task.Delay(500);
        _store.Release();
        await blocker;

        await Assert.ThrowsAsync<BigCommercePayloadException>(() => awaited[8203]);
        foreach (var id in new long[] { 8201, 8202, 8204 })
        {
            Assert.Equal(id, (await awaited[id]).Snapshot!.Order.Id);
        }
        // All four from the one listing, the order after the malformed one too: none fetched again alone.
        Assert.Equal(1, _store.OrderListings);
        Assert.All(new long[] { 8201, 8202, 8203, 8204 }, id => Assert.Equal((1, 0), (_store.OrderListed(id), _store.OrderFetches(id))));

        // Every attempt of the next fetch fails: its callback gets the transient failure, and its
        // retry a fetch of its own, not the failure again.
        _store.FailNext(6, System.Net.HttpStatusCode.InternalServerError);
        var receivedAt = DateTimeOffset.UtcNow - ClockSkew;
        var failed = await Assert.ThrowsAsync<BigCommerceRequestException>(() => Fetches.FetchAsync(8201, receivedAt, CancellationToken.None));
        Assert.True(failed.IsTransient);
        var retried = await Fetches.FetchAsync(8201, receivedAt, CancellationToken.None);
        Assert.Equal(8201, retried.Snapshot!.Order.Id);
    }

    [Fact]
    public async Task A_new_customer_the_store_returns_malformed_is_left_to_its_order_and_the_other_orders_get_theirs()
    {
        _store.PutCustomer(BigCommerceFixtures.Customer(11, "janedoe@example.com"));
        var broken = BigCommerceFixtures.Customer(16, "broken@example.com");
        broken["date_modified"] = "last Tuesday";
        _store.PutCustomer(broken);
        PutOrder(9999, customerId: 0);
        var blocker = await RoundUnderWayAsync(9999);
        PutOrder(8401);
        PutOrder(8402, customerId: 16);
        var awaited = new long[] { 8401, 8402 }
            .ToDictionary(id => id, id => Fetches.FetchAsync(id, DateTimeOffset.UtcNow - ClockSkew, CancellationToken.None));
        await Task.Delay(500);
        _store.Release();
        await blocker;

        var good = await awaited[8401];
        var left = await awaited[8402];

        Assert.Equal(("janedoe@example.com", true), (good.Customer?.Customer.Email, good.CustomerLooked));
        // Not looked up for the order: applying it fetches customer 16 alone, and fails alone.
        Assert.Equal((8402L, false, (CustomerSnapshot?)null), (left.Snapshot!.Order.Id, left.CustomerLooked, left.Customer));
        Assert.Equal((1, 1), (_store.CustomerFetches(11), _store.CustomerFetches(16)));
        await Assert.ThrowsAsync<BigCommercePayloadException>(() => _sync.Get<BigCommerceClient>().GetCustomerAsync(16, CancellationToken.None));
    }

    [Fact]
    public async Task Orders_changing_without_pause_are_fetched_in_one_round_per_interval_not_one_per_callback()
    {
        // A callback every 100 ms for 4 s, each for an order of its own, as in a flash sale.
        var orders = Enumerable.Range(8301, 40).Select(id => (long)id).ToArray();
        var fetches = new List<Task<FetchedOrder>>();
        var sending = System.Diagnostics.Stopwatch.StartNew();
        foreach (var id in orders)
        {
            PutOrder(id);
            fetches.Add(Fetches.FetchAsync(id, DateTimeOffset.UtcNow - ClockSkew, CancellationToken.None));
            await Task.Delay(100);
        }
        var sent = sending.Elapsed;

        var fetched = await Task.WhenAll(fetches);

        Assert.Equal(orders, fetched.Select(f => f.Snapshot!.Order.Id));
        // Rounds start at most every 2 s (the default interval): one when the first callback
        // comes, one per interval while they keep coming (4 s, longer on a busy machine), one
        // for the last; each a listing (or, for a round that waits on one order only, that order
        // fetched alone) and a request for the customer who has no row yet. Without the
        // interval a round follows each request, a dozen or more.
        var mostRounds = (int)(sent / TimeSpan.FromSeconds(2)) + 2;
        var rounds = _store.OrderListings + orders.Sum(_store.OrderFetches);
        Assert.InRange(_store.OrderListings, 2, mostRounds);
        Assert.InRange(rounds, 2, mostRounds);
        Assert.InRange(_store.TotalRequests, rounds, 2 * rounds);
    }
}
