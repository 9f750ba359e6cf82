using PerazziSync.Contracts;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace PerazziSync.Cli.DeadLetters;

/// <summary>How far a walk through a dead-letter queue got.</summary>
readonly record struct ScanProgress(string Queue, long Scanned, long Total);

/// <summary>
/// Reads dead-letter queues without losing or reordering what it does not take. Every message
/// is fetched unacknowledged; only the ones a command is done with (replayed and confirmed, or
/// purged and audited) are acknowledged. When the walk ends, or the process dies, the broker
/// puts every other message back where it was.
/// </summary>
sealed class DeadLetterQueues(IConnection connection)
{
    /// <summary>The product's dead-letter queues: <c>_error</c> and <c>_skipped</c> of each input queue.</summary>
    public static IEnumerable<string> All =>
        Queues.Inputs.SelectMany(q => new[] { q + Queues.ErrorSuffix, q + Queues.SkippedSuffix });

    /// <summary>
    /// The dead-letter queues <paramref name="queue"/> names: all of the product's when null; an
    /// input queue's two; or one of the product's by its full name. Null for any other name: the
    /// broker's other queues, <c>_error</c> or not, belong to other applications, whose messages
    /// a replay would move and audit as the product's.
    /// </summary>
    public static IReadOnlyList<string>? Named(string? queue) => queue switch
    {
        null or "" => All.ToList(),
        _ when All.Contains(queue, StringComparer.Ordinal) => [queue],
        _ when Queues.Inputs.Contains(queue, StringComparer.Ordinal) => [queue + Queues.ErrorSuffix, queue + Queues.SkippedSuffix],
        _ => null,
    };

    public static string InputOf(string queue) =>
        queue.EndsWith(Queues.ErrorSuffix, StringComparison.Ordinal) ? queue[..^Queues.ErrorSuffix.Length]
        : queue.EndsWith(Queues.SkippedSuffix, StringComparison.Ordinal) ? queue[..^Queues.SkippedSuffix.Length]
        : queue;

    /// <summary>Messages in each of <paramref name="queues"/> that exists.</summary>
    public async Task<IReadOnlyList<(string Queue, uint Messages)>> CountAsync(
        IEnumerable<string> queues, CancellationToken cancellationToken)
    {
        var counts = new List<(string, uint)>();
        foreach (var queue in queues)
        {
            if (await MessageCountAsync(queue, cancellationToken) is { } count)
            {
                counts.Add((queue, count));
            }
        }
        return counts;
    }

    /// <summary>Messages ready in <paramref name="queue"/>, or null when it does not exist.</summary>
    public async Task<uint?> MessageCountAsync(string queue, CancellationToken cancellationToken)
    {
        // A passive declare of a missing queue closes its channel: one channel per question.
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Walks the messages <paramref name="queue"/> held when the walk began, each once, calling
    /// <paramref name="visit"/> with the channel they were fetched on (acknowledge there what is
    /// done) and <paramref name="complete"/> at the end. Messages dead-lettered during the walk
    /// are left for the next one. The channel confirms publishes.
    /// </summary>
    public async Task WalkAsync(
        string queue,
        Func<IChannel, DeadLetter, CancellationToken, ValueTask> visit,
        Func<IChannel, CancellationToken, ValueTask> complete,
        IProgress<ScanProgress>? progress,
        CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        var (scanned, total) = await FetchAsync(channel, queue, visit, progress, cancellationToken);
        await complete(channel, cancellationToken);
        progress?.Report(new ScanProgress(queue, scanned, total));
        // Closing the channel hands every message not acknowledged back to the queue, in order.
        await channel.CloseAsync(cancellationToken);
    }

    /// <summary>
    /// Fetches the messages <paramref name="queue"/> holds now and keeps those that match
    /// <paramref name="filter"/> on a channel of their own, unacknowledged, until the result is
    /// disposed: no other reader takes them meanwhile, and a message dead-lettered later (a
    /// second failure of the same message id, say) is never among them.
    /// </summary>
    public async Task<HeldDeadLetters> HoldAsync(string queue, DeadLetterFilter filter, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        try
        {
            var held = new List<DeadLetter>();
            var (scanned, _) = await FetchAsync(channel, queue,
                (_, letter, _) =>
                {
                    if (filter.Matches(letter))
                    {
                        held.Add(letter);
                    }
                    return ValueTask.CompletedTask;
                },
                null, cancellationToken);
            return new HeldDeadLetters(queue, channel, held, scanned);
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    /// <summary>Fetches, unacknowledged, each message <paramref name="queue"/> held when it began.</summary>
    async Task<(long Scanned, long Total)> FetchAsync(
        IChannel channel, string queue, Func<IChannel, DeadLetter, CancellationToken, ValueTask> visit,
        IProgress<ScanProgress>? progress, CancellationToken cancellationToken)
    {
        var total = await MessageCountAsync(queue, cancellationToken) ?? 0;
        long scanned = 0;
        while (scanned < total)
        {
            var result = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
            if (result is null)
            {
                break;
            }
            scanned++;
            await visit(channel, DeadLetter.From(queue, result), cancellationToken);
            if (scanned % 500 == 0)
            {
                progress?.Report(new ScanProgress(queue, scanned, total));
            }
        }
        return (scanned, total);
    }
}

/// <summary>
/// Dead letters fetched and not acknowledged: they stay out of everyone else's reach until
/// acknowledged on <see cref="Channel"/> (gone for good) or until disposal, which hands every
/// one not acknowledged back to its queue.
/// </summary>
sealed class HeldDeadLetters(string queue, IChannel channel, IReadOnlyList<DeadLetter> letters, long scanned) : IAsyncDisposable
{
    public string Queue => queue;

    public IChannel Channel => channel;

    /// <summary>The held messages that matched the filter, in queue order.</summary>
    public IReadOnlyList<DeadLetter> Letters => letters;

    /// <summary>Messages fetched, matching or not.</summary>
    public long Scanned => scanned;

    public async ValueTask DisposeAsync()
    {
        if (channel.IsOpen)
        {
            await channel.CloseAsync();
        }
        await channel.DisposeAsync();
    }
}
