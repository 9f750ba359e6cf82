namespace PerazziSync.Contracts;

/// <summary>
/// The BigCommerce webhook scopes the receiver handles: what it publishes for each, and so what
/// the store must be subscribed to (<c>perazzisync hooks</c>, the worker's subscription check).
/// </summary>
public static class BigCommerceScopes
{
    /// <summary>BigCommerce's notice that it could not deliver to a hook (error codes 90001, 90002, 90003).</summary>
    public const string HookDeliveryException = "store/hook/deliveryException";

    /// <summary>Scopes that announce a change of an order: <see cref="BigCommerceOrderChanged"/>.</summary>
    public static IReadOnlyList<string> Order { get; } =
    [
        "store/order/created",
        "store/order/updated",
        "store/order/statusUpdated",
        "store/order/archived",
        "store/order/refund/created",
    ];

    /// <summary>Scopes that announce a change of a customer: <see cref="BigCommerceCustomerChanged"/>.</summary>
    public static IReadOnlyList<string> Customer { get; } =
    [
        "store/customer/created",
        "store/customer/updated",
        "store/customer/deleted",
    ];

    /// <summary>Every scope the receiver handles, so every scope the store's hooks must cover.</summary>
    public static IReadOnlyList<string> Subscribed { get; } = [.. Order, .. Customer, HookDeliveryException];

    /// <summary>
    /// What the reconciliation lists to recover the changes a quiet hook of <paramref name="scope"/>
    /// did not announce: <c>order</c>, <c>customer</c>, or null when it announces no entity.
    /// </summary>
    public static string? EntityType(string scope) =>
        Order.Contains(scope) ? "order" : Customer.Contains(scope) ? "customer" : null;
}
