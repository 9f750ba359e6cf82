using Dapper;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.ServiceDefaults;
using Quartz;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Re-attempts parked BigCommerce events, so an order parked because its customer's portal
/// e-mail was not confirmed yet arrives once it is. Each event waits twice as long as before
/// between attempts (<c>BigCommerce:ParkedRetryBackoff</c>, at most a day). Guest orders stay
/// parked: nothing in the portal can make them attributable.
/// </summary>
[DisallowConcurrentExecution]
public sealed class ParkedBigCommerceRetryJob(
    NpgsqlDataSource database,
    IPublishEndpoint publisher,
    IOptions<BigCommerceSyncOptions> options,
    TimeProvider time,
    ILogger<ParkedBigCommerceRetryJob> logger) : IJob
{
    public static readonly JobKey Key = new("bigcommerce-parked-retry");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduledAt = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        if (!await JobFirings.ClaimAsync(database, Key.Name, scheduledAt, cancellationToken))
        {
            return;
        }
        const string due = """
            select source_key as "SourceKey", message_type as "MessageType", message::text as "Message"
            from perazzi_sync.parked_events
            where source_system = 'bigcommerce' and resolved_at is null and reason <> 'guest_order'
              and last_seen_at < now() - @Backoff * least(power(2, attempts - 1), 1440)::int
            order by last_seen_at
            limit 1000
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var parked = (await connection.QueryAsync<(string SourceKey, string MessageType, string Message)>(new CommandDefinition(
            due, new { Backoff = options.Value.ParkedRetryBackoff }, cancellationToken: cancellationToken))).AsList();
        var now = time.GetUtcNow();
        var retry = $"parked-retry:{scheduledAt.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}";
        foreach (var (_, messageType, message) in parked)
        {
            var again = ParkedBigCommerceMessages.Renew(messageType, message, now, retry);
            if (again is not null)
            {
                await publisher.Publish(again, again.GetType(), context => context.MustReachAQueue(), cancellationToken);
            }
        }
        if (parked.Count > 0)
        {
            WorkerLog.ParkedRetried(logger, parked.Count);
        }
    }
}
