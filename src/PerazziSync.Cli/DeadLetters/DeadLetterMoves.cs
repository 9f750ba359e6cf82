using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>
/// What a walk through one dead-letter queue found and did. <paramref name="Refused"/>: the
/// selected messages a replay left where they are, their bodies not being envelopes it can send back.
/// </summary>
sealed record MoveOutcome(string Queue, long Scanned, long Selected, long Moved, IReadOnlyList<DeadLetter> Refused);

/// <summary>A replay or purge stopped part-way; what it did before is kept and audited, or named when the database refused its rows.</summary>
sealed class DeadLetterMoveException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Replay and purge: the selected messages of a dead-letter queue are handled in batches, and a
/// message is acknowledged (removed from the queue) only after its batch is done: republished
/// and confirmed by the broker, then audited; or, for a purge, audited. A process killed at any
/// point leaves every message either still in the dead-letter queue or replayed (or audited as
/// purged), and at worst both. A replayed batch whose audit rows the database refuses is
/// acknowledged all the same and named, so that no later run sends it again.
/// </summary>
sealed class DeadLetterMoves(DeadLetterQueues queues, DeadLetterAudit audit)
{
    const int BatchSize = 200;

    /// <summary>Messages moved so far by the running command, for its progress display.</summary>
    public long Moved { get; private set; }

    /// <summary>
    /// Deletes exactly the messages <paramref name="held"/> keeps, in batches: the audit rows
    /// (each keeping its message's body) are committed, then those deliveries are acknowledged.
    /// </summary>
    public async Task<MoveOutcome> PurgeAsync(HeldDeadLetters held, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        long moved = 0;
        foreach (var batch in held.Letters.Chunk(BatchSize))
        {
            // A channel the broker closed (an acknowledgement timeout while the operator read the
            // list) has put its messages back: auditing them now would record a purge that never happens.
            if (!held.Channel.IsOpen)
            {
                throw new DeadLetterMoveException(
                    $"{held.Queue}: the broker took the shown messages back ({held.Channel.CloseReason?.ReplyText}); " +
                    $"{moved} purged before, the rest stay in the queue: run the purge again");
            }
            await using (var rows = await audit.BeginAsync(cancellationToken))
            {
                await rows.CommitAsync(DeadLetterAudit.Purge, batch, cancellationToken);
            }
            // Audited as purged: they go, interrupted or not.
            foreach (var letter in batch)
            {
                await held.Channel.BasicAckAsync(letter.DeliveryTag, multiple: false, CancellationToken.None);
            }
            moved += batch.Length;
            Moved += batch.Length;
        }
        progress?.Report(new ScanProgress(held.Queue, held.Scanned, held.Scanned));
        return new MoveOutcome(held.Queue, held.Scanned, held.Letters.Count, moved, []);
    }

    /// <summary>Sends each selected message back to its input queue, as it was first sent.</summary>
    public async Task<MoveOutcome> ReplayAsync(
        string queue, DeadLetterFilter filter, IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var batch = new List<DeadLetter>(BatchSize);
        var refused = new List<DeadLetter>();
        long scanned = 0, selected = 0, moved = 0;

        async ValueTask FlushAsync(IChannel channel, CancellationToken token)
        {
            if (batch.Count == 0)
            {
                return;
            }
            IReadOnlyList<DeadLetter> done;
            Exception? failure = null;
            NpgsqlException? unaudited = null;
            await using (var rows = await audit.BeginAsync(token))
            {
                // From the first publish on, the batch is seen through even when the operator
                // interrupts: what the broker confirms was sent and gets its row and its
                // acknowledgement (the Cli has 10 s after Ctrl+C or SIGTERM for that); otherwise
                // it would be in its input queue with no row, and in the dead-letter queue still.
                try
                {
                    done = await RepublishAsync(channel, batch);
                }
                catch (PartialReplayException partial)
                {
                    done = partial.Confirmed;
                    failure = partial.InnerException;
                }
                try
                {
                    await rows.CommitAsync(DeadLetterAudit.Replay, done, CancellationToken.None);
                }
                catch (NpgsqlException e)
                {
                    // The messages are in their input queue whatever the database says. Left in
                    // the dead-letter queue as well, each later run would send them again and
                    // fail the same way: they leave it, and the operator is told which they are.
                    unaudited = e;
                }
            }
            foreach (var letter in done)
            {
                await channel.BasicAckAsync(letter.DeliveryTag, multiple: false, CancellationToken.None);
            }
            moved += done.Count;
            Moved += done.Count;
            batch.Clear();
            if (unaudited is not null)
            {
                throw new DeadLetterMoveException(
                    $"{queue}: {done.Count} message(s) replayed, but their audit rows could not be written " +
                    $"({CliErrors.Describe(unaudited) ?? unaudited.Message}); they left the dead-letter queue so that no later run sends them again: " +
                    string.Join(", ", done.Select(l => l.MessageId ?? "(no message id)")), unaudited);
            }
            if (failure is not null)
            {
                throw new DeadLetterMoveException(
                    $"{queue}: a message could not be replayed ({failure.Message}); {moved} moved before it, the rest stay in the queue", failure);
            }
        }

        await queues.WalkAsync(queue,
            async (channel, letter, token) =>
            {
                scanned++;
                if (!filter.Matches(letter))
                {
                    return;
                }
                selected++;
                if (letter.Unreadable is not null)
                {
                    // The consumer could not read it either: sent back, it would only fail again.
                    refused.Add(letter);
                    return;
                }
                batch.Add(letter);
                if (batch.Count == BatchSize)
                {
                    await FlushAsync(channel, token);
                }
            },
            FlushAsync, progress, cancellationToken);
        return new MoveOutcome(queue, scanned, selected, moved, refused);
    }

    /// <summary>
    /// Publishes the batch at once and waits for the broker's confirms, whether or not the
    /// operator interrupts meanwhile; returns the confirmed ones.
    /// </summary>
    static async Task<IReadOnlyList<DeadLetter>> RepublishAsync(IChannel channel, IReadOnlyList<DeadLetter> batch)
    {
        // Through the default exchange straight to the input queue, mandatory: should the queue
        // be gone, the broker returns the message and it stays in the dead-letter queue.
        var publishes = batch
            .Select(letter => channel.BasicPublishAsync("", letter.InputQueue, mandatory: true,
                letter.ReplayProperties(), letter.Body, CancellationToken.None).AsTask())
            .ToList();
        try
        {
            await Task.WhenAll(publishes);
            return [.. batch];
        }
        catch (Exception e) when (e is PublishException or AlreadyClosedException or OperationInterruptedException)
        {
            var confirmed = batch.Where((_, i) => publishes[i].IsCompletedSuccessfully).ToList();
            throw new PartialReplayException(confirmed, e);
        }
    }

    sealed class PartialReplayException(IReadOnlyList<DeadLetter> confirmed, Exception inner)
        : Exception("replay stopped part-way", inner)
    {
        public IReadOnlyList<DeadLetter> Confirmed { get; } = confirmed;
    }
}
