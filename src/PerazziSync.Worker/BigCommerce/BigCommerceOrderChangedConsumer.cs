using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Gets the order a callback announced from the worker's next round of fetches
/// (<see cref="OrderFetches"/>) and applies it (<see cref="OrderApplication"/>), unless a fetch
/// that started after the callback was received already did.
/// </summary>
public sealed class BigCommerceOrderChangedConsumer(
    NpgsqlDataSource database,
    OrderFetches fetches,
    OrderApplication application,
    IOptions<BigCommerceSyncOptions> options,
    TimeProvider time,
    ILogger<BigCommerceOrderChangedConsumer> logger) : IConsumer<BigCommerceOrderChanged>
{
    public async Task Consume(ConsumeContext<BigCommerceOrderChanged> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        var settings = options.Value;

        await Coalescing.SettleAsync(message.ReceivedAt, settings.CoalesceDelay, time, cancellationToken);
        // Read without the order's lock, to spare a fetch; the lock is taken, and this read
        // repeated under it, only to apply.
        DateTimeOffset? lastFetch;
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        {
            lastFetch = await Coalescing.LastFetchStartedAsync(connection, message.StoreHash, "order", message.OrderId, cancellationToken);
        }
        var outcome = SyncOutcome.Coalesced;
        if (!Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            var fetched = await fetches.FetchAsync(message.OrderId, message.ReceivedAt, cancellationToken);
            var audit = AuditContext.For(SourceSystem.Name, SourceSystem.OrderKey(message.OrderId), context.MessageId, message.WebhookId)
                .With("store_hash", message.StoreHash)
                .With("scope", message.Scope);
            outcome = await application.ApplyAsync(message.StoreHash, message.OrderId, fetched, message.ReceivedAt,
                message.Scope == "store/order/archived", audit,
                new Parkable(nameof(BigCommerceOrderChanged), JsonSerializer.Serialize(message), context.MessageId), cancellationToken);
        }
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceOrderChanged)), new("outcome", outcome.Name()));
        WorkerLog.OrderOutcome(logger, message.OrderId, message.Scope, outcome.Name());
    }
}
