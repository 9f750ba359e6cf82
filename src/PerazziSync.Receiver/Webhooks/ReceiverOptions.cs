using System.ComponentModel.DataAnnotations;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>The <c>Receiver</c> section.</summary>
public sealed class ReceiverOptions
{
    public const string Section = "Receiver";

    /// <summary>
    /// Larger bodies are refused with 413. BigCommerce callbacks are a few hundred bytes. At most
    /// the web server's own limit on a request body (30,000,000 bytes), which would refuse a
    /// larger one first.
    /// </summary>
    [Range(1024, 30_000_000)]
    public int MaxBodyBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// How long a callback may wait for the broker's confirm before the sender is told 503 and
    /// retries: well under the senders' own timeouts.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many confirmed deliveries one receiver remembers to answer their replays as duplicates,
    /// each until six minutes after its signed timestamp. About 300 bytes each (some 70 more under a
    /// shared header, whose body digest is remembered too): the default is
    /// some 30 MB, six minutes of 270 callbacks/s.
    /// </summary>
    [Range(1_000, 10_000_000)]
    public int RememberedDeliveries { get; set; } = 100_000;
}

/// <summary>The webhook half of the <c>BigCommerce</c> section.</summary>
public sealed class BigCommerceWebhookOptions
{
    public const string Section = "BigCommerce";

    /// <summary>
    /// Callbacks whose <c>producer</c> names another store are acknowledged and dropped. Trimmed and
    /// in lower case once bound (<see cref="PerazziSync.Contracts.BigCommerceStoreHash"/>), as the
    /// worker has it. Unset, the receiver waits for a store: the route answers 503 with the reason,
    /// the POS route works.
    /// </summary>
    public string? StoreHash { get; set; }

    /// <summary>Standard Webhooks secret: the base64 of the app's client secret.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>A shared header that hooks created with custom headers carry instead of a signature.</summary>
    public string? WebhookHeaderName { get; set; }

    public string? WebhookHeaderValue { get; set; }

    public bool HasSharedHeader => !string.IsNullOrEmpty(WebhookHeaderName) && !string.IsNullOrEmpty(WebhookHeaderValue);

    public bool WaitsForStore => string.IsNullOrWhiteSpace(StoreHash);

    /// <summary>Why the route cannot take callbacks yet, as its 503 and the health detail say.</summary>
    public const string WaitingForStore =
        "waiting for a store: BigCommerce__StoreHash is not set; set it (and the webhook secret or shared header) and restart the receiver";
}
