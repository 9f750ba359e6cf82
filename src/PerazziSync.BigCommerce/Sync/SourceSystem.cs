using System.Globalization;

namespace PerazziSync.BigCommerce.Sync;

/// <summary>How BigCommerce is named in audit rows and parked events.</summary>
public static class SourceSystem
{
    public const string Name = "bigcommerce";

    public static string OrderKey(long orderId) => string.Create(CultureInfo.InvariantCulture, $"order:{orderId}");

    public static string CustomerKey(long customerId) => string.Create(CultureInfo.InvariantCulture, $"customer:{customerId}");
}
