using Npgsql;
using PerazziSync.BigCommerce;
using MassTransit;
using Polly.Timeout;

namespace PerazziSync.Worker.Sync;

/// <summary>
/// Faults that go away by themselves: the message is retried, never dead-lettered, while they
/// last. Anything else is permanent and goes to the queue's _error queue with its reason.
/// </summary>
static class TransientFaults
{
    public static bool Is(Exception exception) => exception switch
    {
        BigCommerceRequestException bigCommerce => bigCommerce.IsTransient,
        HttpRequestException or TimeoutRejectedException or TimeoutException => true,
        NpgsqlException database => database.IsTransient,
        _ => false,
    };
}

public static class RetryConfiguration
{
    /// <summary>
    /// Transient faults are retried with exponential backoff (jittered by MassTransit) for about
    /// half an hour while the message stays unacknowledged on the broker; permanent faults are
    /// not retried and go to _error at once.
    /// </summary>
    public static void UseTransientRetry(this IReceiveEndpointConfigurator endpoint) =>
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(TransientFaults.Is);
            retry.Exponential(40, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));
        });
}
