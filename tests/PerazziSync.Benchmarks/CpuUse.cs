using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Where this machine's CPU went between two readings of <c>/proc</c>: the time of PostgreSQL's
/// processes, RabbitMQ's, the product's process and the benchmark's own, the rest, and the time no
/// CPU was busy. A profile by process, which is what decides throughput when the servers, the worker and
/// the load generator share the same cores.
/// </summary>
sealed class CpuUse
{
    /// <summary>The kernel's clock ticks per second in <c>/proc/*/stat</c> (USER_HZ, 100 on every Linux architecture .NET runs on).</summary>
    const double TicksPerSecond = 100;

    const string Product = "product";

    static readonly string[] Groups = ["PostgreSQL", "RabbitMQ", Product, "benchmark", "other processes", "idle"];

    readonly Dictionary<string, double> _seconds = Groups.ToDictionary(g => g, _ => 0.0);
    readonly string _product;
    readonly string _unit;
    long _handled;

    /// <param name="product">What the product's process is called in the report, e.g. "worker".</param>
    /// <param name="unit">What the figures are per, e.g. "callback".</param>
    public CpuUse(string product, string unit)
    {
        _product = product;
        _unit = unit;
    }

    /// <summary>
    /// A reading: each process's ticks with its group; the ticks of the benchmark's children that
    /// have exited (a Cli run to its end is one, its own entry gone by then); and the machine's
    /// busy and idle ticks.
    /// </summary>
    public sealed record Reading(Dictionary<int, (string Group, long Ticks)> Processes, long ExitedChildren, long Busy, long Idle);

    /// <param name="productProcessId">The product's process, or 0 when it is a child of the benchmark that exits in between.</param>
    public static Reading Read(int productProcessId)
    {
        long exitedChildren = 0;
        var processes = new Dictionary<int, (string, long)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // pid (comm) state ...: comm may hold spaces and parentheses, so fields count from the last ')'.
                var close = stat.LastIndexOf(')');
                var command = stat[(stat.IndexOf('(') + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                var own = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                // utime + stime, and cutime + cstime: the time of its children that exited and were
                // reaped, such as the PostgreSQL backend of a connection closed in between, reaped by
                // the postmaster. The benchmark's own exited children are the product's.
                var children = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                var ticks = own + children;
                if (id == Environment.ProcessId)
                {
                    exitedChildren = children;
                    ticks = own;
                }
                var group = id == productProcessId ? Product
                    : id == Environment.ProcessId ? "benchmark"
                    : command == "postgres" ? "PostgreSQL"
                    : command == "beam.smp" ? "RabbitMQ"
                    : "other processes";
                processes[id] = (group, ticks);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended while it was read.
            }
        }
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..9]
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal
        var idle = cpu[3] + cpu[4];
        return new Reading(processes, exitedChildren, cpu.Sum() - idle, idle);
    }

    /// <summary>Adds what happened between <paramref name="before"/> and <paramref name="after"/>, in which <paramref name="handled"/> units were handled.</summary>
    public void Add(Reading before, Reading after, long handled)
    {
        var byProcesses = (after.ExitedChildren - before.ExitedChildren) / TicksPerSecond;
        _seconds[Product] += byProcesses;
        foreach (var (id, (group, ticks)) in before.Processes)
        {
            // Ended in between: its whole time is now in its parent's (of the same group, as a
            // backend's is in the postmaster's), of which only what it used in between counts.
            if (!after.Processes.ContainsKey(id) && group != "other processes")
            {
                _seconds[group] -= ticks / TicksPerSecond;
                byProcesses -= ticks / TicksPerSecond;
            }
        }
        foreach (var (id, (group, ticks)) in after.Processes)
        {
            // A process started in between counts from its start.
            var used = (ticks - (before.Processes.TryGetValue(id, out var was) && was.Group == group ? was.Ticks : 0)) / TicksPerSecond;
            if (group != "other processes")
            {
                _seconds[group] += used;
                byProcesses += used;
            }
        }
        // Short-lived processes and the kernel's own work: what the machine was busy with beyond the named groups.
        _seconds["other processes"] += Math.Max(0, (after.Busy - before.Busy) / TicksPerSecond - byProcesses);
        _seconds["idle"] += (after.Idle - before.Idle) / TicksPerSecond;
        _handled += handled;
    }

    /// <summary>E.g. "PostgreSQL 46 % (173 µs of CPU a callback), …, idle 4 %"; the groups that used under 1 % left out.</summary>
    public string Describe()
    {
        var total = _seconds.Values.Sum();
        if (total <= 0 || _handled == 0)
        {
            return "not measured";
        }
        return string.Join(", ", Groups
            .Where(g => _seconds[g] / total >= 0.01)
            .Select(g => g == "idle"
                ? string.Create(CultureInfo.InvariantCulture, $"idle {_seconds[g] / total:P0}")
                : string.Create(CultureInfo.InvariantCulture,
                    $"{(g == Product ? _product : g)} {_seconds[g] / total:P0} ({_seconds[g] / _handled * 1e6:N0} µs of CPU a {_unit})")));
    }
}
