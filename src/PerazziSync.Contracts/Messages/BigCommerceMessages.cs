namespace PerazziSync.Contracts;

// Message contracts evolve by adding fields only: workers of the previous release must still
// read what a newer receiver publishes.

/// <summary>BigCommerce announced that an order changed; the worker fetches its current state.</summary>
/// <param name="StoreHash">The store the callback came from.</param>
/// <param name="OrderId">BigCommerce order id.</param>
/// <param name="Scope">The webhook scope, e.g. <c>store/order/statusUpdated</c>.</param>
/// <param name="WebhookId">The originating delivery (<c>webhook-id</c>); audit rows point back to it.</param>
/// <param name="ReceivedAt">When the receiver accepted the callback: fetches that start later already see this change.</param>
public sealed record BigCommerceOrderChanged(
    string StoreHash,
    long OrderId,
    string Scope,
    string WebhookId,
    DateTimeOffset ReceivedAt);

/// <summary>BigCommerce announced that a customer changed (or was deleted).</summary>
public sealed record BigCommerceCustomerChanged(
    string StoreHash,
    long CustomerId,
    string Scope,
    string WebhookId,
    DateTimeOffset ReceivedAt);

/// <summary>Parked BigCommerce messages, sent again by the scheduled re-attempt and by <c>parked retry</c>.</summary>
public static class ParkedBigCommerceMessages
{
    /// <summary>
    /// The parked message (<paramref name="messageType"/>, as JSON) as a new delivery received at
    /// <paramref name="now"/>: the consumer must fetch again rather than count an older fetch as
    /// covering it. Null for a type it does not know.
    /// </summary>
    public static object? Renew(string messageType, string json, DateTimeOffset now, string webhookId) => messageType switch
    {
        nameof(BigCommerceOrderChanged) => System.Text.Json.JsonSerializer.Deserialize<BigCommerceOrderChanged>(json)! with { ReceivedAt = now, WebhookId = webhookId },
        nameof(BigCommerceCustomerChanged) => System.Text.Json.JsonSerializer.Deserialize<BigCommerceCustomerChanged>(json)! with { ReceivedAt = now, WebhookId = webhookId },
        _ => null,
    };
}

/// <summary>
/// BigCommerce reported (<c>store/hook/deliveryException</c>) that it could not deliver to one of
/// the store's hooks; the worker checks the subscriptions at once.
/// </summary>
/// <param name="HookId">The hook whose deliveries failed.</param>
/// <param name="ErrorCode">90001: BigCommerce will retry; 90002: retries exhausted, the hook is disabled; 90003: the destination's domain is blocked for a while.</param>
/// <param name="Description">BigCommerce's own words, e.g. which destination answered what.</param>
/// <param name="OccurredAt">The callback's <c>created_at</c>, when BigCommerce raised it, if it said.</param>
public sealed record BigCommerceHookDeliveryFailed(
    string StoreHash,
    long HookId,
    int? ErrorCode,
    string? Description,
    DateTimeOffset? OccurredAt,
    string WebhookId,
    DateTimeOffset ReceivedAt);
