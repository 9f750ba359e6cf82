using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
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

    TestVirtualHost(string name, string amqpUri, HttpClient management, IConnection connection)
    {
        Name = name;
        AmqpUri = amqpUri;
        _management = management;
        _connection = connection;
    }

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
        var connection = await new ConnectionFactory { Uri = new Uri(amqp) }.CreateConnectionAsync();
        return new TestVirtualHost(name, amqp, management, connection);
    }

    /// <summary>Messages ready in <paramref name="queue"/>; 0 when the queue does not exist.</summary>
    public async Task<uint> MessageCountAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        try
        {
            return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
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
    public async Task<List<(string? MessageId, string Body)>> DrainAsync(string queue)
    {
        var messages = new List<(string?, string)>();
        await using var channel = await _connection.CreateChannelAsync();
        while (await channel.BasicGetAsync(queue, autoAck: true) is { } message)
        {
            messages.Add((message.BasicProperties.MessageId, Encoding.UTF8.GetString(message.Body.Span)));
        }
        return messages;
    }

    public async ValueTask DisposeAsync()
    {
        await _connection.CloseAsync();
        _connection.Dispose();
        await _management.DeleteAsync($"api/vhosts/{Name}");
        _management.Dispose();
    }
}
