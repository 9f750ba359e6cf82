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

        await Coalescing.SettleAsync(message.ReceivedAt, settings.CoalesceDelay, time, cancellationToken);
        await using var entity = await EntityLock.AcquireAsync(
            database, $"bigcommerce:{message.StoreHash}:order:{message.OrderId}", logger, cancellationToken);
        var lastFetch = await entity.LastFetchStartedAsync(message.StoreHash, "order", message.OrderId, cancellationToken);
        if (Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            Outcome(message, "coalesced");
            return;
        }

        var snapshot = await bigCommerce.GetOrderAsync(message.OrderId, cancellationToken);
        var order = snapshot is null ? null : BigCommerceOrder.Parse(snapshot.Order);
        if (order is not null && order.Id != message.OrderId)
        {
            throw new BigCommercePayloadException($"Asked for order {message.OrderId}, BigCommerce returned order {order.Id}");
        }

        // A customer first seen through this order is fetched under its own lock, so concurrent
        // orders of a new customer fetch it once and link it once.
        EntityLock? customerLock = null;
        CustomerSnapshot? newCustomer = null;
        try
        {
            if (order is { CustomerId: > 0 } && !await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
            {
                customerLock = await EntityLock.AcquireAsync(
                    database, $"bigcommerce:{message.StoreHash}:customer:{order.CustomerId}", logger, cancellationToken);
                if (!await CustomerRows.ExistsAsync(entity.Connection, order.CustomerId, cancellationToken))
                {
                    newCustomer = await bigCommerce.GetCustomerAsync(order.CustomerId, cancellationToken);
                }
            }

            await using var transaction = await entity.BeginAsServiceRoleAsync(cancellationToken);
            var outcome = snapshot is null || order is null
                // BigCommerce no longer returns the order; its history is kept, marked archived.
                ? await OrderRows.MarkArchivedAsync(transaction, message.OrderId, Metadata(context, $"order:{message.OrderId}"), cancellationToken) ? "applied" : "unchanged"
                : await ApplyAsync(transaction, context, snapshot, order, newCustomer, cancellationToken);
            if (snapshot is not null)
            {
                await Coalescing.RecordFetchAsync(transaction, message.StoreHash, "order", message.OrderId, snapshot.FetchStartedAt, cancellationToken);
            }
            await transaction.CommitAsync(cancellationToken);
            if (outcome == "applied")
            {
                Telemetry.RecordLag("bigcommerce", order?.DateModified ?? message.ReceivedAt, time);
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

    static async Task<string> ApplyAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceOrderChanged> context, OrderSnapshot snapshot,
        BigCommerceOrder order, CustomerSnapshot? newCustomer, CancellationToken cancellationToken)
    {
        var message = context.Message;
        var sourceKey = $"order:{message.OrderId}";
        if (order.CustomerId == 0)
        {
            await ParkAsync(transaction, context, sourceKey, "guest_order", cancellationToken);
            return "parked";
        }

        Guid customerRowId;
        if (await CustomerRows.FindAsync(transaction, order.CustomerId, cancellationToken) is { } customer)
        {
            customerRowId = customer.Id;
        }
        else
        {
            var (linked, reason) = await LinkAsync(transaction, context, newCustomer, cancellationToken);
            if (linked is null)
            {
                await ParkAsync(transaction, context, sourceKey, reason!, cancellationToken);
                return "parked";
            }
            customerRowId = linked.Value;
        }

        var archived = order.IsDeleted || message.Scope == "store/order/archived";
        var metadata = Metadata(context, sourceKey);
        var change = await OrderRows.UpsertAsync(transaction, customerRowId, order, snapshot.Order, archived, metadata, cancellationToken);
        if (change.Stale)
        {
            return "stale";
        }
        var lines = await OrderRows.ReplaceLinesAsync(transaction, change.Id!.Value, snapshot.Lines, metadata, cancellationToken);
        await Parking.ResolveAsync(transaction, "bigcommerce", sourceKey, cancellationToken);
        return change.IsChange || lines.Inserted + lines.Updated + lines.Deleted > 0 ? "applied" : "unchanged";
    }

    /// <summary>Links a customer first seen through an order, if a confirmed portal user has its e-mail.</summary>
    static async Task<(Guid? CustomerRowId, string? Reason)> LinkAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceOrderChanged> context, CustomerSnapshot? snapshot,
        CancellationToken cancellationToken)
    {
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
        var sourceKey = $"customer:{customer.Id}";
        var change = await CustomerRows.UpsertAsync(transaction, customer, userId.Value, "linked", Metadata(context, sourceKey), cancellationToken);
        await Coalescing.RecordFetchAsync(transaction, context.Message.StoreHash, "customer", customer.Id, snapshot.FetchStartedAt, cancellationToken);
        await Parking.ResolveAsync(transaction, "bigcommerce", sourceKey, cancellationToken);
        return (change.Id, null);
    }

    static string Metadata(ConsumeContext<BigCommerceOrderChanged> context, string sourceKey) =>
        SyncAudit.Metadata("bigcommerce", sourceKey, context.MessageId, context.Message.WebhookId,
            new() { ["store_hash"] = context.Message.StoreHash, ["scope"] = context.Message.Scope });

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
