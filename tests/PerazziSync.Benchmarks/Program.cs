using PerazziSync.Benchmarks;

// MassTransit reports usage over the internet unless told not to; a benchmark does not phone home either.
Environment.SetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY", "false");

var arguments = Arguments.Parse(args);
switch (arguments.Command)
{
    case "receiver":
        await ReceiverBenchmark.RunAsync(arguments);
        break;
    case "worker":
        await WorkerBenchmark.RunAsync(arguments);
        break;
    case "pos":
        await PosBenchmark.RunAsync(arguments);
        break;
    default:
        Console.Error.WriteLine("""
            usage: perazzisync benchmarks
              receiver [--seconds 60] [--rate 500] [--concurrency 32]
                  signed BigCommerce callbacks against the receiver, next to a bare confirmed publish
              worker [--orders 100] [--callbacks 1000] [--spread 10] [--quota 150] [--window 30]
                  callback bursts through receiver and worker against a rate-limited fake BigCommerce
              pos [--small 100000] [--rows 1000000]
                  perazzisync pos import of generated exports, next to raw COPY and a bare one-statement upsert
            """);
        Environment.ExitCode = 2;
        break;
}
