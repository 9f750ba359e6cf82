using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce;
using PerazziSync.Contracts;
using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>Fetches the order a callback announced and applies it (SPEC section 4).</summary>
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
        var sourceKey = $"order:{message.OrderId}";

        await Coalescing.SettleAsync(message.ReceivedAt, settings.CoalesceDelay, time, cancellationToken);
        await using var entity = await EntityLock.AcquireAsync(
            database, $"bigcommerce:{message.StoreHash}:order:{message.OrderId}", cancellationToken);
        var lastFetch = await entity.LastFetchStartedAsync(message.StoreHash, "order", message.OrderId, cancellationToken);
        if (Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            Outcome(message, "coalesced");
            return;
        }

        var snapshot = await bigCommerce.GetOrderAsync(message.OrderId, cancellationToken);
        var metadata = SyncAudit.Metadata("bigcommerce", sourceKey, context.MessageId, message.WebhookId,
            new() { ["store_hash"] = message.StoreHash, ["scope"] = message.Scope });

        await using var transaction = await entity.BeginAsServiceRoleAsync(cancellationToken);
        string outcome;
        if (snapshot is null)
        {
            // BigCommerce no longer returns the order; history is kept, marked archived.
            outcome = await OrderRows.MarkArchivedAsync(transaction, message.OrderId, metadata, cancellationToken)
                ? "applied"
                : "unchanged";
        }
        else
        {
            outcome = await ApplyAsync(transaction, context, snapshot, sourceKey, metadata, cancellationToken);
            await Coalescing.RecordFetchAsync(transaction, message.StoreHash, "order", message.OrderId, snapshot.FetchStartedAt, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        Outcome(message, outcome);
    }

    async Task<string> ApplyAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceOrderChanged> context, OrderSnapshot snapshot,
        string sourceKey, string metadata, CancellationToken cancellationToken)
    {
        var message = context.Message;
        var order = BigCommerceOrder.Parse(snapshot.Order);
        if (order.Id != message.OrderId)
        {
            throw new BigCommercePayloadException($"Asked for order {message.OrderId}, BigCommerce returned order {order.Id}");
        }
        if (order.CustomerId == 0)
        {
            await ParkAsync(transaction, context, sourceKey, "guest_order", cancellationToken);
            return "parked";
        }

        var customer = await CustomerRows.FindAsync(transaction, order.CustomerId, cancellationToken);
        Guid customerRowId;
        if (customer is not null)
        {
            customerRowId = customer.Id;
        }
        else
        {
            var linked = await LinkCustomerAsync(transaction, context, order.CustomerId, cancellationToken);
            if (linked.Reason is not null)
            {
                await ParkAsync(transaction, context, sourceKey, linked.Reason, cancellationToken);
                return "parked";
            }
            customerRowId = linked.CustomerRowId!.Value;
        }

        var archived = order.IsDeleted || message.Scope == "store/order/archived";
        var change = await OrderRows.UpsertAsync(transaction, customerRowId, order, snapshot.Order, archived, metadata, cancellationToken);
        if (change.Stale)
        {
            return "stale";
        }
        var lines = await OrderRows.ReplaceLinesAsync(transaction, change.Id!.Value, snapshot.Lines, metadata, cancellationToken);
        await Parking.ResolveAsync(transaction, "bigcommerce", sourceKey, cancellationToken);
        return change.IsChange || lines.Inserted + lines.Updated + lines.Deleted > 0 ? "applied" : "unchanged";
    }

    /// <summary>A customer first seen through an order: fetched, and linked if a confirmed portal user has its e-mail.</summary>
    async Task<(Guid? CustomerRowId, string? Reason)> LinkCustomerAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceOrderChanged> context, long customerId, CancellationToken cancellationToken)
    {
        var message = context.Message;
        var snapshot = await bigCommerce.GetCustomerAsync(customerId, cancellationToken);
        if (snapshot is null)
        {
            return (null, "customer_not_found");
        }
        var customer = BigCommerceCustomer.Parse(snapshot.Customer);
        var (userId, reason) = await CustomerRows.FindPortalUserAsync(transaction, customer.Email, cancellationToken);
        if (userId is null)
        {
            return (null, reason);
        }
        var metadata = SyncAudit.Metadata("bigcommerce", $"customer:{customerId}", context.MessageId, message.WebhookId,
            new() { ["store_hash"] = message.StoreHash, ["scope"] = message.Scope });
        var change = await CustomerRows.UpsertAsync(transaction, customer, userId.Value, "linked", metadata, cancellationToken);
        await Coalescing.RecordFetchAsync(transaction, message.StoreHash, "customer", customerId, snapshot.FetchStartedAt, cancellationToken);
        await Parking.ResolveAsync(transaction, "bigcommerce", $"customer:{customerId}", cancellationToken);
        return (change.Id, null);
    }

    static Task ParkAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceOrderChanged> context, string sourceKey, string reason, CancellationToken cancellationToken) =>
        Parking.ParkAsync(transaction, "bigcommerce", sourceKey, reason, nameof(BigCommerceOrderChanged),
            JsonSerializer.Serialize(context.Message), context.MessageId, cancellationToken);

    void Outcome(BigCommerceOrderChanged message, string outcome)
    {
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceOrderChanged)), new("outcome", outcome));
        WorkerLog.OrderOutcome(logger, message.OrderId, message.Scope, outcome);
    }
}
