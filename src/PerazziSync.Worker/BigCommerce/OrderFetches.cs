using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>An order as a round of fetches found it, with its customer when that had no row yet.</summary>
/// <param name="Snapshot">The order; null when BigCommerce does not know it (any more).</param>
/// <param name="CustomerLooked">The order's customer had no row, so it was fetched too (and could be read).</param>
/// <param name="Customer">That customer; null when not looked for or when BigCommerce does not know it.</param>
public sealed record FetchedOrder(OrderSnapshot? Snapshot, bool CustomerLooked, CustomerSnapshot? Customer);

/// <summary>
/// The order fetches of one worker, in rounds (docs/sync-rules.md). Every order awaited when a
/// round starts is fetched in it, once however many callbacks wait for it: orders close together
/// by id are listed in one request (<see cref="BigCommerceClient.ListOrdersAsync"/>, 250 a page,
/// lines embedded), an order the listing does not return is fetched alone, and the new customers
/// of the round's orders are fetched together. Rounds follow one another, no closer than
/// <see cref="BigCommerceSyncOptions.RoundInterval"/>, so the callbacks that arrive meanwhile
/// make the next one; the busier the store, the more orders a request carries. A round answers a callback only if it started after
/// the callback was received, as the coalescing rule says of any fetch.
/// </summary>
public sealed class OrderFetches(
    BigCommerceClient bigCommerce,
    NpgsqlDataSource database,
    IOptions<BigCommerceSyncOptions> options,
    TimeProvider time,
    ILogger<OrderFetches> logger) : IAsyncDisposable
{
    /// <summary>Orders of one round fetched alone at the same time.</summary>
    const int SingleFetchesAtOnce = 8;

    /// <summary>How long a finished round still answers callbacks it covers, for those that reach it just after.</summary>
    static readonly TimeSpan KeptAfterRound = TimeSpan.FromSeconds(30);

    sealed class Awaited(DateTimeOffset receivedAt, ActivityContext trace)
    {
        public TaskCompletionSource<FetchedOrder> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public DateTimeOffset EarliestReceivedAt { get; set; } = receivedAt;

        /// <summary>The trace of the callback that asked first: the round's requests appear in it.</summary>
        public ActivityContext Trace { get; } = trace;
    }

    sealed record Fetch(DateTimeOffset StartedAt, Task<FetchedOrder> Result)
    {
        public DateTimeOffset? EndedAt { get; set; }
    }

    readonly Lock _gate = new();
    readonly SemaphoreSlim _signal = new(0, 1);
    readonly CancellationTokenSource _stopping = new();
    Dictionary<long, Awaited> _awaited = [];
    readonly Dictionary<long, Fetch> _fetches = [];
    Task? _rounds;

    /// <summary>
    /// The order as a fetch that started after <paramref name="receivedAt"/> (and the clock skew)
    /// found it: one already under way or just done if it started late enough, else the next round.
    /// </summary>
    public async Task<FetchedOrder> FetchAsync(long orderId, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // A round starts after its callbacks were registered; registering no earlier than the
        // skew after receipt makes every round that takes the callback a covering one.
        await Coalescing.SettleAsync(receivedAt, settings.ClockSkew + TimeSpan.FromMilliseconds(1), time, cancellationToken);
        Task<FetchedOrder> result;
        lock (_gate)
        {
            // A failed fetch answers nobody again: its callbacks retry, and must fetch anew.
            if (_fetches.TryGetValue(orderId, out var fetch) && !fetch.Result.IsFaulted && !fetch.Result.IsCanceled
                && Coalescing.IsCovered(fetch.StartedAt, receivedAt, settings.ClockSkew))
            {
                result = fetch.Result;
            }
            else
            {
                if (_awaited.TryGetValue(orderId, out var awaited))
                {
                    if (receivedAt < awaited.EarliestReceivedAt)
                    {
                        awaited.EarliestReceivedAt = receivedAt;
                    }
                }
                else
                {
                    _awaited[orderId] = awaited = new Awaited(receivedAt, Activity.Current?.Context ?? default);
                    if (_awaited.Count == 1 && _signal.CurrentCount == 0)
                    {
                        _signal.Release();
                    }
                }
                _rounds ??= Task.Run(RoundsAsync, CancellationToken.None);
                result = awaited.Result.Task;
            }
        }
        return await result.WaitAsync(cancellationToken);
    }

    async Task RoundsAsync()
    {
        var stopping = _stopping.Token;
        var gather = options.Value.FetchGather;
        var interval = options.Value.RoundInterval;
        DateTimeOffset? lastStarted = null;
        try
        {
            while (true)
            {
                await _signal.WaitAsync(stopping);
                var wait = gather;
                if (lastStarted is { } last && last + interval - time.GetUtcNow() is var paced && paced > wait)
                {
                    wait = paced;
                }
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stopping);
                }
                Dictionary<long, Awaited> round;
                DateTimeOffset startedAt;
                lock (_gate)
                {
                    round = _awaited;
                    _awaited = [];
                    startedAt = time.GetUtcNow();
                    lastStarted = startedAt;
                    Forget(startedAt);
                    foreach (var (orderId, awaited) in round)
                    {
                        _fetches[orderId] = new Fetch(startedAt, awaited.Result.Task);
                    }
                }
                if (round.Count > 0)
                {
                    try
                    {
                        await RoundAsync(round, stopping);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        // Its callbacks were answered with the failure; the next round must still come.
                        WorkerLog.OrderFetchFailed(logger, e, round.Count, e.Message);
                    }
                    lock (_gate)
                    {
                        var endedAt = time.GetUtcNow();
                        foreach (var orderId in round.Keys)
                        {
                            if (_fetches.TryGetValue(orderId, out var fetch) && fetch.StartedAt == startedAt)
                            {
                                fetch.EndedAt = endedAt;
                            }
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            lock (_gate)
            {
                foreach (var awaited in _awaited.Values)
                {
                    awaited.Result.TrySetCanceled(stopping);
                }
            }
        }
    }

    /// <summary>Drops the rounds that ended long enough ago, and the failed ones.</summary>
    void Forget(DateTimeOffset now)
    {
        foreach (var (orderId, fetch) in _fetches.ToList())
        {
            if (fetch.Result.IsFaulted || fetch.Result.IsCanceled || fetch.EndedAt + KeptAfterRound < now)
            {
                _fetches.Remove(orderId);
            }
        }
    }

    async Task RoundAsync(Dictionary<long, Awaited> round, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // One span for the round, in the trace of the first callback it serves and linked from
        // the others, so each callback's trace leads to the requests that answered it.
        var traces = round.Values.Select(a => a.Trace).Where(t => t != default).Distinct().ToList();
        using var activity = Telemetry.ActivitySource.StartActivity(
            "bigcommerce.fetch_orders", ActivityKind.Internal, traces.FirstOrDefault(), links: traces.Skip(1).Select(t => new ActivityLink(t)));
        activity?.SetTag("perazzi.orders", round.Count);
        var found = new Dictionary<long, OrderSnapshot>();
        var alone = new List<long>();
        try
        {
            foreach (var run in OrderRanges.Split(round.Keys))
            {
                if (run.Count == 1)
                {
                    alone.Add(run[0]);
                    continue;
                }
                // The awaited orders were modified about when their callbacks came; a listing from a
                // little before the earliest of them returns them, and an order it misses (a late
                // retry of an old change, a store clock far behind) is fetched alone below.
                var since = run.Min(id => round[id].EarliestReceivedAt) - settings.ListLookback;
                var wanted = run.ToHashSet();
                var malformed = new HashSet<long>();
                try
                {
                    await foreach (var entry in bigCommerce.ListOrdersAsync(since, run[0], run[^1], cancellationToken))
                    {
                        if (entry.Id is not { } orderId || !wanted.Contains(orderId))
                        {
                            continue;
                        }
                        if (entry.Snapshot is { } snapshot)
                        {
                            found[orderId] = snapshot;
                        }
                        else
                        {
                            // It fails alone, not its neighbours: the rest of the listing is kept.
                            malformed.Add(orderId);
                            Fail(round, [orderId], entry.Malformed!);
                        }
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Fail(round, run.Where(id => !found.ContainsKey(id) && !malformed.Contains(id)), e);
                    continue;
                }
                // An entry without a readable id leaves its order among those fetched alone.
                alone.AddRange(run.Where(id => !found.ContainsKey(id) && !malformed.Contains(id)));
            }

            var gone = new HashSet<long>();
            await Parallel.ForEachAsync(alone, new ParallelOptions { MaxDegreeOfParallelism = SingleFetchesAtOnce, CancellationToken = cancellationToken },
                async (orderId, token) =>
                {
                    try
                    {
                        var snapshot = await bigCommerce.GetOrderAsync(orderId, token);
                        lock (found)
                        {
                            if (snapshot is null)
                            {
                                gone.Add(orderId);
                            }
                            else
                            {
                                found[orderId] = snapshot;
                            }
                        }
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Fail(round, [orderId], e);
                    }
                });

            foreach (var orderId in gone)
            {
                round[orderId].Result.TrySetResult(new FetchedOrder(null, false, null));
            }
            await AnswerWithCustomersAsync(round, found, cancellationToken);
        }
        finally
        {
            foreach (var awaited in round.Values)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    awaited.Result.TrySetCanceled(cancellationToken);
                }
                else
                {
                    awaited.Result.TrySetException(new InvalidOperationException("The round of order fetches ended without an answer for this order"));
                }
            }
        }
    }

    async Task AnswerWithCustomersAsync(Dictionary<long, Awaited> round, Dictionary<long, OrderSnapshot> found, CancellationToken cancellationToken)
    {
        IReadOnlyList<FetchedOrder> answers;
        try
        {
            answers = await WithNewCustomersAsync(bigCommerce, database, found.Values, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(round, found.Keys, e);
            return;
        }
        foreach (var answer in answers)
        {
            round[answer.Snapshot!.Order.Id].Result.TrySetResult(answer);
        }
    }

    /// <summary>
    /// The orders, each with its customer when that has no row yet: those customers are fetched
    /// together, 50 a request, instead of one by one when each order is applied. A customer
    /// BigCommerce returns malformed is left to be fetched when its order is applied, where it
    /// fails that order alone, not the others it came with.
    /// </summary>
    public static async Task<IReadOnlyList<FetchedOrder>> WithNewCustomersAsync(
        BigCommerceClient bigCommerce, NpgsqlDataSource database, IReadOnlyCollection<OrderSnapshot> snapshots, CancellationToken cancellationToken)
    {
        var customerIds = snapshots.Select(s => s.Order.CustomerId).Where(id => id > 0).Distinct().ToList();
        IReadOnlySet<long> known;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        {
            known = await CustomerRows.ExistingAsync(connection, customerIds, cancellationToken);
        }
        var missing = customerIds.Where(id => !known.Contains(id)).ToList();
        var fetched = missing.Count == 0 ? new Dictionary<long, Listed<CustomerSnapshot>>() : await bigCommerce.GetCustomersAsync(missing, cancellationToken);
        return snapshots.Select(snapshot =>
        {
            var customerId = snapshot.Order.CustomerId;
            var customer = fetched.GetValueOrDefault(customerId);
            var looked = customerId > 0 && !known.Contains(customerId) && customer?.Malformed is null;
            return new FetchedOrder(snapshot, looked, looked ? customer?.Snapshot : null);
        }).ToList();
    }

    void Fail(Dictionary<long, Awaited> round, IEnumerable<long> orderIds, Exception exception)
    {
        var ids = orderIds.ToList();
        WorkerLog.OrderFetchFailed(logger, exception, ids.Count, exception.Message);
        foreach (var orderId in ids)
        {
            round[orderId].Result.TrySetException(exception);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        await _stopping.CancelAsync();
        if (_rounds is { } rounds)
        {
            await rounds;
        }
    }
}
