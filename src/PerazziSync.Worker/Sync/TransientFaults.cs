using Npgsql;
using PerazziSync.BigCommerce;
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
