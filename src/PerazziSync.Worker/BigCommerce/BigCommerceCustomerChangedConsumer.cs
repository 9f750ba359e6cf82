using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using Npgsql;
using PerazziSync.BigCommerce;
using PerazziSync.Contracts;
using PerazziSync.ServiceDefaults;
using PerazziSync.Worker.Sync;

namespace PerazziSync.Worker.BigCommerce;

/// <summary>Fetches the customer a callback announced and applies it (SPEC section 4).</summary>
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
        var sourceKey = $"customer:{message.CustomerId}";
        var metadata = SyncAudit.Metadata("bigcommerce", sourceKey, context.MessageId, message.WebhookId,
            new() { ["store_hash"] = message.StoreHash, ["scope"] = message.Scope });

        await using var entity = await EntityLock.AcquireAsync(
            database, $"bigcommerce:{message.StoreHash}:customer:{message.CustomerId}", logger, cancellationToken);
        if (message.Scope == "store/customer/deleted")
        {
            await using var deleted = await entity.BeginAsServiceRoleAsync(cancellationToken);
            var unlinked = await CustomerRows.MarkUnlinkedAsync(deleted, message.CustomerId, metadata, cancellationToken);
            await deleted.CommitAsync(cancellationToken);
            Outcome(message, unlinked ? "applied" : "unchanged");
            return;
        }

        await Coalescing.SettleAsync(message.ReceivedAt, settings.CoalesceDelay, time, cancellationToken);
        var lastFetch = await entity.LastFetchStartedAsync(message.StoreHash, "customer", message.CustomerId, cancellationToken);
        if (Coalescing.IsCovered(lastFetch, message.ReceivedAt, settings.ClockSkew))
        {
            Outcome(message, "coalesced");
            return;
        }

        var snapshot = await bigCommerce.GetCustomerAsync(message.CustomerId, cancellationToken);
        await using var transaction = await entity.BeginAsServiceRoleAsync(cancellationToken);
        var outcome = snapshot is null
            ? await CustomerRows.MarkUnlinkedAsync(transaction, message.CustomerId, metadata, cancellationToken) ? "applied" : "unchanged"
            : await ApplyAsync(transaction, context, snapshot, sourceKey, metadata, cancellationToken);
        if (snapshot is not null)
        {
            await Coalescing.RecordFetchAsync(transaction, message.StoreHash, "customer", message.CustomerId, snapshot.FetchStartedAt, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        if (outcome == "applied")
        {
            Telemetry.RecordLag("bigcommerce",
                snapshot is null ? message.ReceivedAt : BigCommerceCustomer.Parse(snapshot.Customer).DateModified, time);
        }
        Outcome(message, outcome);
    }

    static async Task<string> ApplyAsync(
        NpgsqlTransaction transaction, ConsumeContext<BigCommerceCustomerChanged> context, CustomerSnapshot snapshot,
        string sourceKey, string metadata, CancellationToken cancellationToken)
    {
        var customer = BigCommerceCustomer.Parse(snapshot.Customer);
        var existing = await CustomerRows.FindAsync(transaction, customer.Id, cancellationToken);
        Guid userId;
        if (existing is not null)
        {
            // Once linked, always the same user: a later e-mail change upstream needs an operator.
            userId = existing.UserId;
        }
        else
        {
            var (found, reason) = await CustomerRows.FindPortalUserAsync(transaction, customer.Email, cancellationToken);
            if (found is null)
            {
                await Parking.ParkAsync(transaction, "bigcommerce", sourceKey, reason!, nameof(BigCommerceCustomerChanged),
                    JsonSerializer.Serialize(context.Message), context.MessageId, cancellationToken);
                return "parked";
            }
            userId = found.Value;
        }
        var change = await CustomerRows.UpsertAsync(transaction, customer, userId, "linked", metadata, cancellationToken);
        await Parking.ResolveAsync(transaction, "bigcommerce", sourceKey, cancellationToken);
        return change.Stale ? "stale" : change.IsChange ? "applied" : "unchanged";
    }

    void Outcome(BigCommerceCustomerChanged message, string outcome)
    {
        Telemetry.MessagesConsumed.Add(1, new("type", nameof(BigCommerceCustomerChanged)), new("outcome", outcome));
        WorkerLog.CustomerOutcome(logger, message.CustomerId, message.Scope, outcome);
    }
}
