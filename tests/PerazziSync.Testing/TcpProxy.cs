using System.Net;
using System.Net.Sockets;

namespace PerazziSync.Testing;

/// <summary>
/// A loopback TCP relay in front of a server, which a test can cut and restore: to a client it
/// looks as if the server went down (connections reset, new ones refused) and came back. It can
/// also freeze the connections open at a moment: they stay open and carry nothing more (or
/// nothing more back from the server), as a half-open connection or a hung pooler would, while new
/// connections are relayed. And it can hold what clients send for a while, to order a client's
/// next request after something else the test does.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    readonly IPEndPoint _target;
    readonly List<TcpClient> _open = [];
    TcpListener? _listener;
    CancellationTokenSource _running = new();
    CancellationTokenSource _relaying = new();
    CancellationTokenSource _answering = new();
    volatile TaskCompletionSource _requestsPass = Passing();
    int _heldRequests;

    public TcpProxy(string targetHost, int targetPort)
    {
        _target = new IPEndPoint(Dns.GetHostAddresses(targetHost).First(a => a.AddressFamily == AddressFamily.InterNetwork), targetPort);
        // Named now, bound at Start and again after each Cut: see LoopbackPort.
        Port = LoopbackPort.Reserve();
    }

    public int Port { get; }

    public void Start()
    {
        _running = new CancellationTokenSource();
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _ = AcceptAsync(_listener, _running.Token);
    }

    /// <summary>Refuses new connections and resets the open ones.</summary>
    public void Cut()
    {
        _running.Cancel();
        _listener?.Stop();
        lock (_open)
        {
            foreach (var client in _open)
            {
                // Linger 0 turns the close into a reset, as a crashed server's would be. A relay
                // may have closed this side already.
                try
                {
                    client.Client?.LingerState = new LingerOption(true, 0);
                }
                catch (Exception e) when (e is ObjectDisposedException or SocketException)
                {
                    // Already closed: disposing again is harmless.
                }
                client.Dispose();
            }
            _open.Clear();
        }
    }

    /// <summary>The connections open now carry nothing more either way and stay open; new ones are relayed.</summary>
    public void Freeze()
    {
        Interlocked.Exchange(ref _relaying, new CancellationTokenSource()).Cancel();
        Interlocked.Exchange(ref _answering, new CancellationTokenSource()).Cancel();
    }

    /// <summary>
    /// The connections open now carry nothing more from the server and stay open; the server still
    /// gets what the client sends, so its answers are lost. New connections are relayed.
    /// </summary>
    public void FreezeAnswers() => Interlocked.Exchange(ref _answering, new CancellationTokenSource()).Cancel();

    /// <summary>What clients send from now on waits in the proxy until <see cref="ReleaseRequests"/>.</summary>
    public void HoldRequests() => _requestsPass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sends on what <see cref="HoldRequests"/> held, and lets requests through again.</summary>
    public void ReleaseRequests() => _requestsPass.TrySetResult();

    /// <summary>How many connections have a request held in the proxy now.</summary>
    public int HeldRequests => Volatile.Read(ref _heldRequests);

    static TaskCompletionSource Passing()
    {
        var passing = new TaskCompletionSource();
        passing.SetResult();
        return passing;
    }

    async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(_target, cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }
            lock (_open)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }
            _ = RelayAsync(inbound, outbound, requests: true, cancellationToken, _relaying.Token);
            _ = RelayAsync(outbound, inbound, requests: false, cancellationToken, _answering.Token);
        }
    }

    async Task RelayAsync(TcpClient from, TcpClient to, bool requests, CancellationToken cut, CancellationToken frozen)
    {
        var keepOpen = false;
        try
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cut, frozen);
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await from.GetStream().ReadAsync(buffer, either.Token)) > 0)
            {
                var pass = _requestsPass.Task;
                if (requests && !pass.IsCompleted)
                {
                    Interlocked.Increment(ref _heldRequests);
                    try
                    {
                        await pass.WaitAsync(either.Token);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _heldRequests);
                    }
                }
                await to.GetStream().WriteAsync(buffer.AsMemory(0, read), either.Token);
            }
        }
        catch (OperationCanceledException) when (frozen.IsCancellationRequested && !cut.IsCancellationRequested)
        {
            // Frozen: both sockets stay open, silent, until Cut closes them.
            keepOpen = true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // Cut, or one side closed.
        }
        finally
        {
            // Whatever else ended the relay closes both sides, so the client sees the connection
            // gone rather than silent.
            if (!keepOpen)
            {
                from.Dispose();
                to.Dispose();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        _running.Dispose();
        _relaying.Dispose();
        _answering.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Proxies in front of the test services, for the hosts a test wants to cut off.</summary>
public static class ServiceProxies
{
    /// <summary>A started proxy in front of the test PostgreSQL.</summary>
    public static async Task<TcpProxy> PostgresAsync()
    {
        var server = new Npgsql.NpgsqlConnectionStringBuilder(await TestServices.PostgresAsync());
        var proxy = new TcpProxy(server.Host!, server.Port);
        proxy.Start();
        return proxy;
    }

    /// <summary>A started proxy in front of the test RabbitMQ.</summary>
    public static async Task<TcpProxy> RabbitMqAsync()
    {
        var broker = new Uri(await TestServices.RabbitMqAsync());
        var proxy = new TcpProxy(broker.Host, broker.Port);
        proxy.Start();
        return proxy;
    }

    /// <summary><paramref name="connectionString"/> pointed at <paramref name="proxy"/>.</summary>
    public static string Through(this TcpProxy proxy, string connectionString) =>
        connectionString.StartsWith("amqp", StringComparison.Ordinal)
            ? new UriBuilder(connectionString) { Host = "127.0.0.1", Port = proxy.Port }.Uri.ToString()
            : new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
}
