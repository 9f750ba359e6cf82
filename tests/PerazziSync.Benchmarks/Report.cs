using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>
/// Every benchmark in one run on this machine, summed up in one table: each figure of the product
/// next to the raw limit measured minutes apart on the same services.
/// </summary>
static class Report
{
    public static async Task RunAsync(Arguments arguments)
    {
        var seconds = arguments.Int("seconds", 20).ToString(CultureInfo.InvariantCulture);
        var receiver = await ReceiverBenchmark.MeasureAsync(Arguments.Parse(["receiver", "--seconds", seconds]));
        var apply = await ApplyBenchmark.MeasureAsync(arguments.Int("records", 20_000));
        var pos = (await PosBenchmark.MeasureAsync([arguments.Int("rows", 200_000)]))[0];
        var fetches = await WorkerBenchmark.MeasureAsync(Arguments.Parse(["worker"]));

        Console.WriteLine();
        Console.WriteLine($"PerazziSync benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, " +
            $"{Environment.OSVersion}, .NET {Environment.Version}");
        Console.WriteLine();
        Console.WriteLine("| measure | PerazziSync | raw limit, same run | ratio | target | met |");
        Console.WriteLine("|---|---:|---:|---:|---:|:---:|");
        Row("receiver: signed callbacks accepted/s (saturated)",
            $"{receiver.Saturated.PerSecond:N0}/s, p99 {receiver.Saturated.Latencies.Percentile(99)}",
            $"bare confirmed publish {receiver.Bare.PerSecond:N0}/s", receiver.Saturated.PerSecond / receiver.Bare.PerSecond, 0.60);
        Row($"receiver: p99 at a steady {receiver.Paced.Name.Split(' ')[^1]}", $"{receiver.Paced.Latencies.Percentile(99)}",
            "", null, null);
        Row("worker: POS callbacks applied/s", $"{apply.WorkerPerSecond:N0}/s",
            $"upsert + audit transactions {apply.RawPerSecond:N0}/s", apply.WorkerPerSecond / apply.RawPerSecond, 0.60);
        Row($"pos import of {pos.Rows:N0} rows: rows/s (peak memory)", $"{pos.ImportPerSecond:N0}/s ({pos.PeakBytes / 1048576.0:N0} MB)",
            $"one-statement upsert + audit {pos.BarePerSecond:N0}/s; COPY {pos.CopyPerSecond:N0}/s", pos.ImportPerSecond / pos.BarePerSecond, 0.50);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| BigCommerce: order fetches per distinct order ({fetches.Orders} orders, {fetches.Accepted} callbacks) | {fetches.FetchesPerOrder:0.00} (max {fetches.MaxFetches}), {fetches.TooManyRequests} × 429 | 1 | | ≤ 1.2, 0 × 429 | {(fetches.FetchesPerOrder <= 1.2 && fetches.TooManyRequests == 0 ? "yes" : "no")} |"));
    }

    static void Row(string measure, string product, string raw, double? ratio, double? target) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {measure} | {product} | {raw} | {(ratio is { } r ? r.ToString("P0", CultureInfo.InvariantCulture) : "")} | {(target is { } t ? "≥ " + t.ToString("P0", CultureInfo.InvariantCulture) : "")} | {(ratio is { } x && target is { } y ? (x >= y ? "yes" : "no") : "")} |"));
}
