using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using MassTransit;
using Npgsql;
using PerazziSync.Contracts;
using PerazziSync.Data;
using PerazziSync.Pos.Rows;

namespace PerazziSync.Cli;

/// <summary>What <c>parked retry</c> did with the POS records it re-attempted.</summary>
sealed record PosRetryOutcome(long Attached, long Parked, long Superseded);

/// <summary>A BigCommerce re-send failed; the ones confirmed before it are sent and audited.</summary>
sealed class ParkedRetryException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The re-attempts of <c>parked retry</c>. Each parked event an operator re-attempts gets one
/// <c>parked.retry</c> audit row, committed with the re-attempt: for a POS record in the
/// transaction that applies it; for a BigCommerce event once the broker confirmed its re-send.
/// A batch of POS records waits for each answer of the database at most <paramref name="writeTimeout"/>.
/// </summary>
sealed class ParkedRetry(NpgsqlDataSource database, OperatorAudit audit, string deliveryId, TimeSpan writeTimeout)
{
    const string Action = "parked.retry";
    const string ObjectType = "parked_event";
    const int BigCommerceBatchSize = 200;

    /// <summary>
    /// Applies the selected open parked POS records, oldest first, a batch per transaction: the
    /// ones whose serial now has a verified asset are attached (or found superseded by a newer
    /// version already stored), the others are parked again, one attempt more. Each gets its
    /// audit row in the transaction that re-attempted it.
    /// </summary>
    public async Task<PosRetryOutcome> RetryPosAsync(string? reason, string[]? keys, CancellationToken cancellationToken)
    {
        const string after = """
            select p.id, p.resolved_at is not null, p.reason, p.attempts,
                   e.source_modified_at is not null and e.source_modified_at > p.source_version
            from perazzi_sync.parked_events p
            left join service_events e on e.source_system = p.source_system and e.source_record_id = p.source_key
            where p.id = any(@Ids)
            """;
        // The service_event.upsert rows of attached records point back to this run by its delivery id.
        var writeAudit = AuditContext.For(ServiceEventRows.SourceSystem, deliveryId: deliveryId);
        long attached = 0, parked = 0, superseded = 0;
        await ParkedServiceRecords.ReattemptAsync(database, onlyAttributable: false, reason, keys, writeAudit, writeTimeout, cancellationToken,
            async (transaction, records, token) =>
            {
                var now = (await transaction.Connection!.QueryAsync<(Guid Id, bool Resolved, string Reason, int Attempts, bool Newer)>(
                    new CommandDefinition(after, new { Ids = records.Select(r => r.Id).ToArray() }, transaction, cancellationToken: token)))
                    .ToDictionary(r => r.Id);
                var audited = new List<(string, JsonObject)>(records.Count);
                foreach (var record in records)
                {
                    var state = now[record.Id];
                    var metadata = Metadata(ServiceEventRows.SourceSystem, record.Reason, record.Attempts);
                    if (!state.Resolved)
                    {
                        metadata["outcome"] = "parked";
                        metadata["reason_now"] = state.Reason;
                        parked++;
                    }
                    else if (state.Newer)
                    {
                        // Its serial is verified, but a newer version of the work order is stored already.
                        metadata["outcome"] = "superseded";
                        superseded++;
                    }
                    else
                    {
                        metadata["outcome"] = "attached";
                        attached++;
                    }
                    audited.Add((record.SourceKey, metadata));
                }
                await audit.WriteAsync(transaction, Action, ObjectType, audited, token);
            });
        return new PosRetryOutcome(attached, parked, superseded);
    }

    /// <summary>The selected open parked BigCommerce events, as the new deliveries <see cref="ResendBigCommerceAsync"/> sends.</summary>
    public async Task<IReadOnlyList<BigCommerceResend>> DueBigCommerceAsync(
        string? reason, string[]? keys, DateTimeOffset at, CancellationToken cancellationToken)
    {
        const string sql = """
            select source_key, reason, attempts, message_type, message::text from perazzi_sync.parked_events
            where source_system = 'bigcommerce' and resolved_at is null
              and (@Reason::text is null or reason = @Reason)
              and (@Keys::text[] is null or source_key = any(@Keys))
            order by first_seen_at
            """;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        var parked = await connection.QueryAsync<(string Key, string Reason, int Attempts, string MessageType, string Message)>(
            new CommandDefinition(sql, new { Reason = reason, Keys = keys }, cancellationToken: cancellationToken));
        return parked
            .Select(p => ParkedBigCommerceMessages.Renew(p.MessageType, p.Message, at, deliveryId) is { } message
                ? new BigCommerceResend(p.Key, p.Reason, p.Attempts, p.MessageType, message, NewId.NextGuid())
                : null)
            .OfType<BigCommerceResend>()
            .ToList();
    }

    /// <summary>
    /// Publishes the re-sends in batches, as <c>dlq replay</c> does: the audit transaction
    /// begins, the batch is published and the broker's confirms awaited, then one row per
    /// confirmed re-send is committed. A re-send is never without its row, and a row never
    /// stands for a re-send the broker did not take. The bus retries a publish the broker
    /// refuses until the operator interrupts; the ones confirmed before it keep their rows.
    /// </summary>
    public async Task ResendBigCommerceAsync(CliBus bus, IReadOnlyList<BigCommerceResend> resends, CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var batch in resends.Chunk(BigCommerceBatchSize))
        {
            await using var connection = await database.OpenConnectionAsync(cancellationToken);
            await using var transaction = await ServiceRole.BeginAsync(connection, null, cancellationToken);
            // One at a time: the bus publishes on one channel, so a publish the broker refuses
            // closes it under the others in flight and leaves their fate unknown.
            var confirmed = new List<BigCommerceResend>(batch.Length);
            Exception? failure = null;
            foreach (var resend in batch)
            {
                var publish = bus.PublishAsync(resend.Message, resend.MessageId, cancellationToken);
                try
                {
                    // The bus retries a publish the broker refuses, and may not heed the token
                    // while it does: stop waiting when the operator interrupts.
                    await publish.WaitAsync(cancellationToken);
                }
                catch (Exception e)
                {
                    failure = e;
                    // Stop the bus before the rows are written, so that whether this publish
                    // went out after all is settled first.
                    await bus.StopAsync(TimeSpan.FromSeconds(5));
                    if (publish.IsCompletedSuccessfully)
                    {
                        confirmed.Add(resend);
                    }
                    break;
                }
                confirmed.Add(resend);
            }
            // Not cancellable: what the broker confirmed was sent, interrupted or not, and gets its row.
            await audit.WriteAsync(transaction, Action, ObjectType, confirmed.Select(r =>
            {
                var metadata = Metadata("bigcommerce", r.Reason, r.Attempts);
                metadata["message_type"] = r.MessageType;
                metadata["message_id"] = r.MessageId.ToString();
                return (r.Key, metadata);
            }).ToList(), CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
            sent += confirmed.Count;
            if (failure is not null)
            {
                throw new ParkedRetryException(
                    $"BigCommerce: a re-send was not confirmed ({failure.Message}); {sent} sent before it, each audited; the rest stay parked.",
                    failure);
            }
        }
    }

    JsonObject Metadata(string sourceSystem, string reason, int attempts) => new()
    {
        ["source_system"] = sourceSystem,
        ["reason"] = reason,
        ["attempts"] = attempts,
        ["delivery_id"] = deliveryId,
    };
}

/// <summary>A parked BigCommerce event and the new delivery that re-sends it.</summary>
sealed record BigCommerceResend(string Key, string Reason, int Attempts, string MessageType, object Message, Guid MessageId);
