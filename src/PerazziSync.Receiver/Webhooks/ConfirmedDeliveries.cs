using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>
/// The deliveries this replica's broker confirmed lately, by route and delivery (its
/// <c>webhook-id</c>, and under a shared header its body's digest: docs/failures.md), so that
/// a delivery replayed within its timestamp's tolerance is answered without a second
/// publish (each would cost the worker a BigCommerce fetch). Held in memory, per replica, and
/// bounded: once full, the oldest remembered are forgotten first, one for each new one, and a
/// replay of a forgotten delivery is published again, which the workers' idempotent upserts absorb.
/// </summary>
/// <remarks>
/// Not a general cache: a delivery is remembered once, after its publish, and only looked up
/// after that, so a queue in the order remembered is all the eviction needs. A cache that sorts
/// its entries to compact them cost a few percent of the receiver's CPU at the benchmark's load,
/// and refused new entries while it compacted.
/// </remarks>
sealed class ConfirmedDeliveries(IOptions<ReceiverOptions> options, TimeProvider time)
{
    /// <summary>Clock differences between the sender, this receiver and the signature check.</summary>
    static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    readonly int _capacity = options.Value.RememberedDeliveries;

    readonly ConcurrentDictionary<string, Remembered> _remembered = new(StringComparer.Ordinal);

    /// <summary>
    /// Every time a delivery was remembered, oldest first: the capacity, and at most a few more
    /// by the callbacks remembered at the same moment.
    /// </summary>
    readonly ConcurrentQueue<KeyValuePair<string, Remembered>> _order = new();

    long _stamp;

    public bool Contains(string route, string delivery) =>
        _remembered.TryGetValue(Key(route, delivery), out var remembered) && remembered.Until > time.GetUtcNow();

    /// <summary>
    /// Remembers a confirmed delivery until its signature can no longer be replayed: its signed
    /// time (or, for one authenticated otherwise, its arrival) plus the tolerance and a margin.
    /// </summary>
    public void Remember(string route, string delivery, DateTimeOffset signedAt)
    {
        var entry = KeyValuePair.Create(
            Key(route, delivery), new Remembered(signedAt + WebhookSignature.Tolerance + Margin, Interlocked.Increment(ref _stamp)));
        _remembered[entry.Key] = entry.Value;
        _order.Enqueue(entry);
        // One forgotten for each remembered once full; only that time's entry: a delivery
        // remembered again since keeps its newer one.
        if (_order.Count > _capacity && _order.TryDequeue(out var oldest))
        {
            _remembered.TryRemove(oldest);
        }
    }

    static string Key(string route, string delivery) => $"{route}\n{delivery}";

    /// <summary>Until when a delivery is remembered, and which time it was remembered.</summary>
    readonly record struct Remembered(DateTimeOffset Until, long Stamp);
}
