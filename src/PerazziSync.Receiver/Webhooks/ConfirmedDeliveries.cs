using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>
/// The deliveries this replica's broker confirmed lately, by route and <c>webhook-id</c>, so that
/// a signed delivery replayed within its timestamp's tolerance is answered without a second
/// publish (each would cost the worker a BigCommerce fetch). Held in memory, per replica, and
/// bounded: once full, the least recently used are forgotten first, and a replay of a forgotten
/// delivery is published again, which the workers' idempotent upserts absorb.
/// </summary>
sealed class ConfirmedDeliveries(IOptions<ReceiverOptions> options) : IDisposable
{
    /// <summary>Clock differences between the sender, this receiver and the signature check.</summary>
    static readonly TimeSpan Margin = TimeSpan.FromMinutes(1);

    readonly MemoryCache _confirmed = new(new MemoryCacheOptions { SizeLimit = options.Value.RememberedDeliveries });

    public bool Contains(string route, string webhookId) => _confirmed.TryGetValue(Key(route, webhookId), out _);

    /// <summary>
    /// Remembers a confirmed delivery until its signature can no longer be replayed: its signed
    /// time (or, for one authenticated otherwise, its arrival) plus the tolerance and a margin.
    /// </summary>
    public void Remember(string route, string webhookId, DateTimeOffset signedAt) =>
        _confirmed.Set(Key(route, webhookId), true, new MemoryCacheEntryOptions
        {
            AbsoluteExpiration = signedAt + WebhookSignature.Tolerance + Margin,
            Size = 1,
        });

    public void Dispose() => _confirmed.Dispose();

    static string Key(string route, string webhookId) => $"{route}\n{webhookId}";
}
