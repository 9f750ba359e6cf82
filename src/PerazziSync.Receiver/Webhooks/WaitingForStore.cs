using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace PerazziSync.Receiver.Webhooks;

/// <summary>
/// <c>/health/ready</c>'s word on the BigCommerce route: degraded while no store is configured
/// (the POS route serves, so the receiver is ready), healthy once one is.
/// </summary>
sealed class WaitingForStoreCheck(IOptions<BigCommerceWebhookOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(options.Value.WaitsForStore
            ? HealthCheckResult.Degraded(BigCommerceWebhookOptions.WaitingForStore)
            : HealthCheckResult.Healthy($"callbacks of store {options.Value.StoreHash} accepted"));
}

/// <summary>Says at start-up, once, that the BigCommerce route waits for a store.</summary>
sealed partial class WaitingForStoreNotice(IOptions<BigCommerceWebhookOptions> options, ILogger<WaitingForStoreNotice> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.WaitsForStore)
        {
            Waiting(logger, BigCommerceWebhookOptions.WaitingForStore);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Warning, "BigCommerce: /webhooks/bigcommerce answers 503, {Reason}; the POS route works")]
    static partial void Waiting(ILogger logger, string reason);
}
