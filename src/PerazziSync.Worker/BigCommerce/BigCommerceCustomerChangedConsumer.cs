using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce.Api;
using PerazziSync.BigCommerce.Sync;
using PerazziSync.Contracts;
using PerazziSync.Data;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>
/// Fetches the customer a callback announced and applies it (<see cref="CustomerSync"/>), under
/// the customer's lock and unless a fetch that started after the callback was received already did.
/// </summary>
public sealed class BigCommerceCustomerChangedConsumer(
    NpgsqlDataSource database,
    BigCommerceClient bigCommerce,
    IOptions<BigCommerceSyncOptions> options,
    TimeProvider time,
    ILogger<BigCommerceCustomerChangedConsumer> logger) : IConsumer<BigCommerceCustomerChanged>
{
    public async Task Consume(ConsumeContext<BigCommerceCustomerChanged> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        var settings = options.Value;
        var audit = AuditContext.For(SourceSystem.Name, SourceSystem.CustomerKey(message.CustomerId), context.MessageId, message.WebhookId)
            .With("store_hash", message.StoreHash)
            .With("scope", message.Scope);
        var unlink = audit.WithAction("commerce.customer.unlink");

        await using var entity = await EntityLock.AcquireAsync(
            database, $"bigcommerce:{message.StoreHash}:customer:{message.CustomerId}", logger, cancellationToken);
        if (message.Scope == "store/customer/deleted")
        {
            await using var deleted = await entity.BeginAsServiceRoleAsync(unlink, cancellationToken);
            var unlinked = await CustomerSync.UnlinkAsync(deleted, message.CustomerId, cancellationToken);
            await deleted.CommitAsync(cancellationToken);
            Outcome(message, unlinked);
            return;
        }

        await Coalescing.SettleAsync(message.ReceivedAt, settings.CoalesceDelay, time, cancellationToken);
        var lastFetch = await Coalescing.LastFetchStartedAsync(entity.Connection, message.StoreHash, "customer", message.CustomerId, cancellationToken);
        if (Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            Outcome(message, SyncOutcome.Coalesced);
            return;
        }

        var snapshot = await bigCommerce.GetCustomerAsync(message.CustomerId, cancellationToken);
        await using var transaction = await entity.BeginAsServiceRoleAsync(snapshot is null ? unlink : audit, cancellationToken);
        var outcome = snapshot is null
            ? await CustomerSync.UnlinkAsync(transaction, message.CustomerId, cancellationToken)
            : await CustomerSync.ApplyAsync(transaction, message.StoreHash, snapshot,
                new Parkable(nameof(BigCommerceCustomerChanged), JsonSerializer.Serialize(message), context.MessageId), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (outcome == SyncOutcome.Applied)
        {
            Telemetry.RecordLag(SourceSystem.Name, snapshot?.Customer.DateModified ?? message.ReceivedAt, time);
        }
        Outcome(message, outcome);
    }

    void Outcome(BigCommerceCustomerChanged message, SyncOutcome outcome)
    {
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceCustomerChanged)), new("outcome", outcome.Name()));
        WorkerLog.CustomerOutcome(logger, message.CustomerId, message.Scope, outcome.Name());
    }
}
