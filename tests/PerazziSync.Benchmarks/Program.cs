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
    case "apply":
        await ApplyBenchmark.RunAsync(arguments);
        break;
    case "all":
        await Report.RunAsync(arguments);
        break;
    default:
        Console.Error.WriteLine("""
            usage: perazzisync benchmarks
              all [--seconds 20] [--records 20000] [--rows 200000]
                  every benchmark below in one run, summed up in one table against its raw limit
              receiver [--seconds 60] [--rate 500] [--concurrency 32]
                  signed BigCommerce callbacks against the receiver, next to a bare confirmed publish
              worker [--orders 100] [--callbacks 1000] [--spread 10] [--quota 150] [--window 30]
                  callback bursts through receiver and worker against a rate-limited fake BigCommerce
              pos [--small 100000] [--rows 1000000]
                  perazzisync pos import of generated exports, next to raw COPY and a bare one-statement upsert
              apply [--records 20000]
                  the worker applying POS callbacks from its queue, next to raw upsert + audit transactions
            """);
        Environment.ExitCode = 2;
        break;
}
