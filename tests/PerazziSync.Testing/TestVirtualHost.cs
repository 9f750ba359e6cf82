using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PerazziSync.Contracts;
using RabbitMQ.Client;

namespace PerazziSync.Testing;

/// <summary>
/// A RabbitMQ virtual host of its own for one test class, deleted afterwards: exchanges are
/// per virtual host, so the hosts of one class never consume another class's messages.
/// </summary>
public sealed class TestVirtualHost : IAsyncDisposable
{
    readonly HttpClient _management;
    readonly IConnection _connection;
    readonly string _user;

    TestVirtualHost(string name, string amqpUri, HttpClient management, IConnection connection, string user)
    {
        Name = name;
        AmqpUri = amqpUri;
        _management = management;
        _connection = connection;
        _user = user;
    }

    /// <summary>How the test's own connection introduces itself to the broker.</summary>
    const string OwnConnectionName = "perazzi-tests";

    public string Name { get; }

    /// <summary>The AMQP URI of this virtual host, for ConnectionStrings__RabbitMq.</summary>
    public string AmqpUri { get; }

    public static async Task<TestVirtualHost> CreateAsync()
    {
        var broker = new Uri(await TestServices.RabbitMqAsync());
        var management = new HttpClient { BaseAddress = new Uri(await TestServices.RabbitMqManagementAsync()) };
        var userInfo = Uri.UnescapeDataString(broker.UserInfo);
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(userInfo)));
        var user = userInfo.Split(':')[0];
        var name = "perazzi-test-" + Guid.NewGuid().ToString("N")[..12];
        (await management.PutAsync($"api/vhosts/{name}", JsonContent.Create(new { }))).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{name}/{Uri.EscapeDataString(user)}",
            JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }))).EnsureSuccessStatusCode();
        var amqp = new UriBuilder(broker) { Path = "/" + name }.Uri.ToString();
        var connection = await new ConnectionFactory { Uri = new Uri(amqp), ClientProvidedName = OwnConnectionName }.CreateConnectionAsync();
        return new TestVirtualHost(name, amqp, management, connection, user);
    }

    /// <summary>
    /// From now on the broker refuses the test user's publishes to <paramref name="exchange"/> in
    /// this virtual host (and only there), as a misconfigured permission would.
    /// </summary>
    public async Task RefusePublishesToAsync(string exchange) =>
        (await _management.PutAsync($"api/permissions/{Name}/{Uri.EscapeDataString(_user)}",
            JsonContent.Create(new { configure = ".*", write = $"^(?!{Regex.Escape(exchange)}$).*", read = ".*" }))).EnsureSuccessStatusCode();

    /// <summary>
    /// <paramref name="queue"/> as the broker sees it now. Whether it exists, its ready messages and
    /// its consumers come from a passive declare, exact at the moment of asking. Unacknowledged
    /// messages are held by a consumer or by a channel that fetched them: none while no process
    /// but the test is connected to this virtual host; otherwise only the management API counts
    /// them, from statistics the broker refreshes every few seconds.
    /// </summary>
    public async Task<QueueState> QueueAsync(string queue)
    {
        uint ready, consumers;
        await using (var channel = await _connection.CreateChannelAsync())
        {
            try
            {
                var declared = await channel.QueueDeclarePassiveAsync(queue);
                (ready, consumers) = (declared.MessageCount, declared.ConsumerCount);
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                return new QueueState(queue, false, 0, 0, 0);
            }
        }
        var unacknowledged = consumers > 0 || await OtherConnectionsAsync() > 0 ? await UnacknowledgedAsync(queue) : 0;
        return new QueueState(queue, true, ready, unacknowledged, consumers);
    }

    async Task<uint> UnacknowledgedAsync(string queue)
    {
        var response = await _management.GetAsync($"api/queues/{Uri.EscapeDataString(Name)}/{Uri.EscapeDataString(queue)}");
        // A queue declared a moment ago may not have reached the management API's statistics yet.
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return 0;
        }
        response.EnsureSuccessStatusCode();
        return (uint)(JsonNode.Parse(await response.Content.ReadAsStringAsync())?["messages_unacknowledged"]?.GetValue<long>() ?? 0);
    }

    /// <summary>
    /// Messages in <paramref name="queue"/>, ready and unacknowledged. Fails when the queue does
    /// not exist: a name nothing declared must not read as an empty queue.
    /// </summary>
    public async Task<uint> MessagesAsync(string queue) => (await DeclaredQueueAsync(queue)).Messages;

    /// <summary><see cref="QueueAsync"/> of a queue that must exist; fails when it does not.</summary>
    public async Task<QueueState> DeclaredQueueAsync(string queue)
    {
        var state = await QueueAsync(queue);
        return state.Exists
            ? state
            : throw new InvalidOperationException($"There is no queue {queue} in virtual host {Name}: neither the product nor the test declared one of that name.");
    }

    /// <summary>
    /// Messages moved out of the input queue <paramref name="inputQueue"/> for good: those in its
    /// <c>_error</c> and <c>_skipped</c> queues. MassTransit declares those only when it first moves
    /// a message there, so an absent one counts 0; but the input queue must exist, or a misspelt
    /// name would read as "nothing dead-lettered". Nothing consumes them (only the Cli's dlq verbs
    /// take from them, and none runs meanwhile), so their ready messages are all of them, counted
    /// exactly rather than from the management API's lagging statistics.
    /// </summary>
    public async Task<uint> DeadLetteredAsync(string inputQueue)
    {
        var input = await QueueAsync(inputQueue);
        if (!input.Exists)
        {
            throw new InvalidOperationException(
                $"There is no input queue {inputQueue} in virtual host {Name}: its dead letters cannot be counted. Use a name from PerazziSync.Contracts.Queues, once a worker has declared it.");
        }
        uint moved = 0;
        foreach (var deadLetters in new[] { inputQueue + Queues.ErrorSuffix, inputQueue + Queues.SkippedSuffix })
        {
            moved += (await QueueAsync(deadLetters)).Ready;
        }
        return moved;
    }

    /// <summary>How many unacknowledged messages the consumers of <paramref name="queue"/> may hold together: the sum of their prefetch counts.</summary>
    public async Task<long> PrefetchAsync(string queue)
    {
        var consumers = JsonNode.Parse(await _management.GetStringAsync($"api/consumers/{Uri.EscapeDataString(Name)}"))!.AsArray();
        return consumers.Where(c => c?["queue"]?["name"]?.GetValue<string>() == queue).Sum(c => c!["prefetch_count"]!.GetValue<long>());
    }

    /// <summary>
    /// Connections to this virtual host other than the test's own, e.g. a killed process's until
    /// the broker has noticed it is gone and taken back the messages it had not acknowledged.
    /// </summary>
    public async Task<int> OtherConnectionsAsync()
    {
        var connections = JsonNode.Parse(await _management.GetStringAsync($"api/vhosts/{Uri.EscapeDataString(Name)}/connections"))!.AsArray();
        return connections.Count(c => c?["client_properties"]?["connection_name"]?.GetValue<string>() != OwnConnectionName);
    }

    /// <summary>The ids of the messages in <paramref name="queue"/>, in order, leaving them there.</summary>
    public async Task<List<string?>> BrowseAsync(string queue)
    {
        var ids = new List<string?>();
        var channel = await _connection.CreateChannelAsync();
        try
        {
            while (await channel.BasicGetAsync(queue, autoAck: false) is { } message)
            {
                ids.Add(message.BasicProperties.MessageId);
            }
        }
        finally
        {
            // Closing the channel hands back every message it took and never acknowledged.
            await channel.CloseAsync();
            channel.Dispose();
        }
        return ids;
    }

    /// <summary>
    /// A queue bound to the exchange MassTransit publishes <typeparamref name="T"/> to, so a test
    /// sees exactly what was published.
    /// </summary>
    /// <remarks>With <paramref name="maxLength"/>, the queue keeps only the newest messages, for load runs.</remarks>
    public async Task<string> ProbeAsync<T>(int? maxLength = null)
    {
        var exchange = $"{typeof(T).Namespace}:{typeof(T).Name}";
        await using var channel = await _connection.CreateChannelAsync();
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        var queue = "probe-" + Guid.NewGuid().ToString("N")[..8];
        var arguments = maxLength is { } length ? new Dictionary<string, object?> { ["x-max-length"] = length } : null;
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: arguments);
        await channel.QueueBindAsync(queue, exchange, "");
        return queue;
    }

    public async Task PurgeAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        await channel.QueuePurgeAsync(queue);
    }

    /// <summary>Takes every message in <paramref name="queue"/>: its MessageId and body.</summary>
    public async Task<List<(string? MessageId, string Body)>> DrainAsync(string queue) =>
        (await DrainWithHeadersAsync(queue)).Select(m => (m.MessageId, m.Body)).ToList();

    /// <summary>Takes every message in <paramref name="queue"/>, in order, with its headers (string values decoded).</summary>
    public async Task<List<(string? MessageId, string Body, IReadOnlyDictionary<string, string> Headers)>> DrainWithHeadersAsync(string queue)
    {
        var messages = new List<(string?, string, IReadOnlyDictionary<string, string>)>();
        await using var channel = await _connection.CreateChannelAsync();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            var headers = (message.BasicProperties.Headers ?? new Dictionary<string, object?>())
                .ToDictionary(h => h.Key, h => h.Value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : h.Value?.ToString() ?? "");
            messages.Add((message.BasicProperties.MessageId, Encoding.UTF8.GetString(message.Body.Span), headers));
        }
        return messages;
    }

    /// <summary>The queue's type as the broker reports it (<c>classic</c> or <c>quorum</c>); null when it does not exist.</summary>
    public async Task<string?> QueueTypeAsync(string queue)
    {
        var response = await _management.GetAsync($"api/queues/{Uri.EscapeDataString(Name)}/{Uri.EscapeDataString(queue)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())?["type"]?.GetValue<string>();
    }

    /// <summary>A durable queue, as a worker would have declared it.</summary>
    public async Task DeclareQueueAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
    }

    /// <summary>
    /// Puts messages into <paramref name="queue"/> as MassTransit dead-letters them: its envelope
    /// as the body and its fault headers, plus an <c>x-origin</c> header of the original send.
    /// </summary>
    public async Task DeadLetterAsync(string queue, IEnumerable<DeadLetter> letters)
    {
        await DeclareQueueAsync(queue);
        await using var channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        foreach (var chunk in letters.Chunk(500))
        {
            await Task.WhenAll(chunk.Select(letter =>
            {
                var headers = new Dictionary<string, object?>
                {
                    ["x-origin"] = "receiver",
                    ["MT-Reason"] = "fault",
                    ["MT-Fault-ExceptionType"] = letter.ExceptionType,
                    ["MT-Fault-Message"] = letter.ExceptionMessage,
                    ["MT-Fault-Timestamp"] = letter.FaultedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                    ["MT-Host-MachineName"] = "worker-1",
                };
                // MassTransit names the message type of a consumer's fault, never of a body it could not read.
                if (letter.Body is null)
                {
                    headers["MT-Fault-MessageType"] = "PerazziSync.Contracts." + letter.MessageType;
                }
                foreach (var (name, value) in letter.OtherHeaders ?? new Dictionary<string, object?>())
                {
                    headers[name] = value;
                }
                return channel.BasicPublishAsync("", queue, mandatory: true, new BasicProperties
                {
                    MessageId = letter.MessageId.ToString(),
                    ContentType = "application/vnd.masstransit+json",
                    Persistent = true,
                    Headers = headers,
                }, Encoding.UTF8.GetBytes(letter.Body ?? letter.Envelope())).AsTask();
            }));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.CloseAsync();
        _connection.Dispose();
        await _management.DeleteAsync($"api/vhosts/{Name}");
        _management.Dispose();
    }
}

/// <summary>A queue at one moment: see <see cref="TestVirtualHost.QueueAsync"/>.</summary>
public sealed record QueueState(string Name, bool Exists, uint Ready, uint Unacknowledged, uint Consumers)
{
    /// <summary>Ready and unacknowledged: every message still in the queue.</summary>
    public uint Messages => Ready + Unacknowledged;

    public override string ToString() =>
        Exists ? $"{Name}: {Ready} ready, {Unacknowledged} unacknowledged, {Consumers} consumer(s)" : $"{Name}: absent";
}

/// <summary>A message as MassTransit leaves it in an _error queue.</summary>
public sealed record DeadLetter(
    Guid MessageId, string MessageType, string SourceKey, string ExceptionType, string ExceptionMessage, DateTimeOffset FaultedAt)
{
    /// <summary>A POS callback message for work order <paramref name="sourceRecordId"/>.</summary>
    public static DeadLetter Pos(string sourceRecordId, string exceptionType, string exceptionMessage, DateTimeOffset faultedAt) =>
        new(Guid.NewGuid(), "PosServiceRecordReceived", sourceRecordId, exceptionType, exceptionMessage, faultedAt);

    /// <summary>
    /// The body of a message MassTransit could not read (a malformed envelope, not JSON at all),
    /// dead-lettered as such: without the <c>MT-Fault-MessageType</c> header. Null: <see cref="Envelope"/>.
    /// </summary>
    public string? Body { get; init; }

    /// <summary>Headers the original sender set besides <c>x-origin</c>: any name (AMQP's are case-sensitive), any AMQP type.</summary>
    public IReadOnlyDictionary<string, object?>? OtherHeaders { get; init; }

    public string Envelope()
    {
        var message = MessageType == "PosServiceRecordReceived"
            ? new JsonObject
            {
                ["record"] = new JsonObject
                {
                    ["sourceRecordId"] = SourceKey,
                    ["serialNumber"] = "PZ-HT-2021-0001",
                    ["status"] = "completed",
                    ["serviceDate"] = "2026-03-02T10:00:00+01:00",
                    ["workSummary"] = "Replaced firing pin spring",
                    ["attachments"] = new JsonArray(),
                    ["updatedAt"] = "2026-03-02T16:05:00+01:00",
                    ["rawPayload"] = "{}",
                },
                ["webhookId"] = "msg_" + MessageId.ToString("N"),
                ["receivedAt"] = "2026-03-02T16:05:01+00:00",
            }
            : new JsonObject { ["storeHash"] = "teststore", ["orderId"] = long.Parse(SourceKey.Split(':')[1], CultureInfo.InvariantCulture) };
        return new JsonObject
        {
            ["messageId"] = MessageId.ToString(),
            ["messageType"] = new JsonArray("urn:message:PerazziSync.Contracts:" + MessageType),
            ["message"] = message,
            ["sentTime"] = FaultedAt.AddSeconds(-1).UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            ["headers"] = new JsonObject(),
        }.ToJsonString();
    }
}
