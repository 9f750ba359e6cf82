using MassTransit;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.Data;
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
        NpgsqlException database => DatabaseFaults.IsTransient(database),
        _ => false,
    };
}

public static class RetryConfiguration
{
    /// <summary>
    /// While PostgreSQL is unreachable every message fails the same way; such a message is
    /// retried, unacknowledged, until the database answers again, so a long outage never
    /// dead-letters. The <see cref="DatabaseCircuit"/> holds each retry until the database
    /// answers, which keeps the backoff short (capped at 5 s). Other transient faults
    /// (BigCommerce 5xx, 429, timeouts) are retried with backoff for about half an hour. A
    /// foreign key violation, a row deleted while the message was written, is tried again three
    /// times within about 6 s (<see cref="DatabaseFaults.IsConcurrentDelete"/>). Permanent faults
    /// are not retried and go to _error at once.
    /// </summary>
    public static void UseTransientRetry(this IReceiveEndpointConfigurator endpoint)
    {
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<NpgsqlException>(DatabaseFaults.IsTransient);
            retry.Exponential(int.MaxValue, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1));
        });
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(e => e is not NpgsqlException && TransientFaults.Is(e));
            retry.Exponential(40, TimeSpan.FromMilliseconds(500), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(1));
        });
        endpoint.UseMessageRetry(retry =>
        {
            retry.Handle<PostgresException>(DatabaseFaults.IsConcurrentDelete);
            retry.Intervals(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        });
    }
}
