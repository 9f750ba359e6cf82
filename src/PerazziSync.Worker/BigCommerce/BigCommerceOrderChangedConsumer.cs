using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Records;
using PerazziSync.BigCommerce.Rows;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Fetches the order a callback announced and applies it (<see cref="OrderSync"/>), under the
/// order's lock and unless a fetch that started after the callback was received already did.
/// </summary>
public sealed class BigCommerceOrderChangedConsumer(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
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
        await using var entity = await EntityLock.AcquireAsync(
            database, $"bigcommerce:{message.StoreHash}:order:{message.OrderId}", logger, cancellationToken);
        var lastFetch = await Coalescing.LastFetchStartedAsync(entity.Connection, message.StoreHash, "order", message.OrderId, cancellationToken);
        if (Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            Outcome(message, SyncOutcome.Coalesced);
            return;
        }

        var snapshot = await bigCommerce.GetOrderAsync(message.OrderId, cancellationToken);
        // A customer first seen through this order is fetched under its own lock, so concurrent
        // orders of a new customer fetch it once and link it once.
        EntityLock? customerLock = null;
        try
        {
            CustomerSnapshot? newCustomer = null;
            if (snapshot?.Order is { CustomerId: > 0 } order && !await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
            {
                customerLock = await EntityLock.AcquireAsync(
                    database, $"bigcommerce:{message.StoreHash}:customer:{order.CustomerId}", logger, cancellationToken);
                if (!await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
                {
                    newCustomer = await bigCommerce.GetCustomerAsync(order.CustomerId, cancellationToken);
                }
            }

            var audit = AuditContext.For(SourceSystem.Name, SourceSystem.OrderKey(message.OrderId), context.MessageId, message.WebhookId)
                .With("store_hash", message.StoreHash)
                .With("scope", message.Scope);
            await using var transaction = await entity.BeginAsServiceRoleAsync(
                snapshot is null ? audit.WithAction("commerce.order.archive") : audit, cancellationToken);
            var outcome = snapshot is null
                ? await OrderSync.ArchiveGoneAsync(transaction, message.OrderId, cancellationToken)
                : await OrderSync.ApplyAsync(transaction, message.StoreHash, snapshot, newCustomer, message.Scope == "store/order/archived",
                    new Parkable(nameof(BigCommerceOrderChanged), JsonSerializer.Serialize(message), context.MessageId), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (outcome == SyncOutcome.Applied)
            {
                Telemetry.RecordLag(SourceSystem.Name, snapshot?.Order.DateModified ?? message.ReceivedAt, time);
            }
            Outcome(message, outcome);
        }
        finally
        {
            if (customerLock is not null)
            {
                await customerLock.DisposeAsync();
            }
        }
    }

    void Outcome(BigCommerceOrderChanged message, SyncOutcome outcome)
    {
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceOrderChanged)), new("outcome", outcome.Name()));
        WorkerLog.OrderOutcome(logger, message.OrderId, message.Scope, outcome.Name());
    }
}
