using System.Diagnostics;
using PerazziSync.Benchmarks;

// MassTransit reports usage over the internet unless told not to; a benchmark does not phone home either.
Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");

Benchmark[] benchmarks = [ReceiverBenchmark.Definition, ApplyBenchmark.Definition, PosBenchmark.Definition, WorkerBenchmark.Definition];
if (args is [] or ["help" or "--help" or "-h"])
{
    PrintUsage();
    return args.Length == 0 ? 2 : 0;
}
try
{
    var arguments = Arguments.Parse(args);
    var chosen = arguments.Command == "all" ? benchmarks : benchmarks.Where(b => b.Command == arguments.Command).ToArray();
    if (chosen.Length == 0)
    {
        throw new UsageException($"no command '{arguments.Command}'");
    }
    arguments.EnsureOnly(chosen.SelectMany(b => b.Options));
    var publish = Report.NotPublishable(arguments).Count == 0;
    if (publish)
    {
        Report.EnsureReadmeHasPlace();
    }
    if (InheritedSettings.Remove() is { Count: > 0 } removed)
    {
        Log.Step($"not passed on to the hosts: {string.Join(", ", removed)}");
    }

    var started = DateTimeOffset.UtcNow;
    var clock = Stopwatch.StartNew();
    var machine = await Machine.ReadAsync();
    var sections = new List<Section>();
    foreach (var benchmark in chosen)
    {
        Log.Step($"{benchmark.Command}: {arguments.Rounds} round(s)");
        sections.Add(await benchmark.RunAsync(arguments));
    }
    var report = Report.Render(arguments, machine, started, clock.Elapsed, sections);
    Console.WriteLine();
    Console.Write(report);
    if (publish)
    {
        Report.Publish(report);
        Log.Step($"written to {Report.DocumentPath} and README.md");
    }
    var missed = sections.SelectMany(s => s.Rows).Where(r => !r.Met).Select(r => r.Measure).ToList();
    foreach (var measure in missed)
    {
        Log.Step($"target missed: {measure}");
    }
    return missed.Count == 0 ? 0 : 1;
}
catch (UsageException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine();
    PrintUsage();
    return 2;
}
catch (BenchmarkFailedException e)
{
    Console.Error.WriteLine($"The benchmark run failed, nothing is reported: {e.Message}");
    return 3;
}
catch (Exception e)
{
    Console.Error.WriteLine($"The benchmark run failed, nothing is reported: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
    return 3;
}

void PrintUsage()
{
    Console.Error.WriteLine($"usage: deploy/bench.sh all|{string.Join('|', benchmarks.Select(b => b.Command))} [--quick] [--rounds N] [options]");
    Console.Error.WriteLine("  all: every benchmark below in turn, one report. At full sizes and with at least "
        + $"{Option.Rounds.Full[0]} rounds it is also written to {Report.DocumentPath} and into README.md.");
    Console.Error.WriteLine("  --quick: development sizes, minutes instead of over half an hour; nothing is written");
    Console.Error.WriteLine($"  {Option.Rounds.Usage}");
    foreach (var benchmark in benchmarks)
    {
        Console.Error.WriteLine($"  {benchmark.Command}: {benchmark.Description}");
        foreach (var option in benchmark.Options)
        {
            Console.Error.WriteLine($"      {option.Usage}");
        }
    }
    Console.Error.WriteLine("exit status: 0 every target met; 1 a target missed (the report says which); 2 a wrong command line; "
        + "3 the run failed (a wait timed out, a step did not do its work), and nothing is reported.");
}
