using System.Diagnostics.Metrics;

namespace PerazziSync.BigCommerce;

/// <summary>BigCommerce API instruments, on the product's meter (<c>PerazziSync</c>).</summary>
static class BigCommerceMetrics
{
    static readonly Meter Meter = new("PerazziSync");

    /// <summary>Every attempt, retries included, by HTTP status (or <c>timeout</c>).</summary>
    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("perazzisync.bigcommerce.requests", description: "BigCommerce API requests sent, by status");

    /// <summary>How long each request waited for the store's shared request budget.</summary>
    public static readonly Histogram<double> BudgetWait =
        Meter.CreateHistogram<double>("perazzisync.bigcommerce.budget_wait", unit: "s",
            description: "Time a BigCommerce request waited for the shared rate-limit budget");
}
