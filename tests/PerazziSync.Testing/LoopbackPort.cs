using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace PerazziSync.Testing;

/// <summary>
/// Ports for servers a test starts in another process, which must be named before that process
/// binds them. A port the kernel hands out for port 0 is an ephemeral one, and between the probe
/// closing it and the host binding it any outgoing connection on the machine (to PostgreSQL,
/// RabbitMQ, another host) may take it as its local port: the host then fails with "address
/// already in use". So these ports come from below the ephemeral range, which the kernel never
/// assigns to a client socket, in turn, starting at a random point so that two test processes
/// rarely try the same one; a port some server already holds is skipped.
/// </summary>
public static class LoopbackPort
{
    const int Lowest = 20_000;
    static readonly int Highest = EphemeralRangeStart() - 1;
    static int _next = Random.Shared.Next(Lowest, Highest + 1);

    /// <summary>A loopback port no server holds now and the next in turn for this process.</summary>
    public static int Reserve()
    {
        for (var tries = 0; tries <= Highest - Lowest; tries++)
        {
            var port = Lowest + (Interlocked.Increment(ref _next) - Lowest) % (Highest - Lowest + 1);
            if (IsFree(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException($"Every loopback port from {Lowest} to {Highest} is taken or was given out already.");
    }

    static bool IsFree(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The first port of the kernel's ephemeral range (Linux: 32768 unless configured).</summary>
    static int EphemeralRangeStart()
    {
        const string setting = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(setting)
            && int.TryParse(File.ReadAllText(setting).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0],
                NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            && start > Lowest + 1_000)
        {
            return start;
        }
        return 32_768;
    }
}
