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
