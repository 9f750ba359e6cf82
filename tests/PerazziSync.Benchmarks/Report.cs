using System.Globalization;
using System.Reflection;
using System.Text;
using PerazziSync.Testing;

namespace PerazziSync.Benchmarks;

/// <summary>
/// The benchmarks' one output: a Markdown report headed by the machine it ran on, each section's
/// rows in one table and, beside it, what each reference does and does not do. A full
/// <c>all</c> run also writes it to <see cref="DocumentPath"/> and into README.md between the
/// markers, unedited, so that every figure there comes from the command named above it.
/// </summary>
static class Report
{
    public const string DocumentPath = "docs/benchmarks.md";
    const string Readme = "README.md";
    const string Begin = "<!-- benchmarks:begin -->";
    const string End = "<!-- benchmarks:end -->";

    /// <summary>How this program and the hosts it starts (from the same configuration's output) were built.</summary>
    static readonly string Build =
        typeof(Report).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown";

    /// <summary>
    /// Why the run's figures may not stand in the README; none for an <c>all</c> run at full
    /// sizes with at least the default rounds.
    /// </summary>
    public static IReadOnlyList<string> NotPublishable(Arguments arguments)
    {
        var reasons = new List<string>();
        if (arguments.Command != "all")
        {
            reasons.Add("one benchmark");
        }
        if (arguments.Quick)
        {
            reasons.Add("quick sizes");
        }
        if (Build != "Release")
        {
            reasons.Add($"a {Build} build");
        }
        if (arguments.Rounds < Option.Rounds.Full[0])
        {
            reasons.Add($"{arguments.Rounds} round(s), fewer than the {Option.Rounds.Full[0]} a median needs");
        }
        return reasons;
    }

    /// <summary>Fails before anything is measured if the README has lost the place the report goes.</summary>
    public static void EnsureReadmeHasPlace()
    {
        var readme = File.ReadAllText(Repository.PathOf(Readme));
        if (readme.IndexOf(Begin, StringComparison.Ordinal) is var begin and >= 0 && readme.IndexOf(End, begin, StringComparison.Ordinal) > begin)
        {
            return;
        }
        throw new BenchmarkFailedException($"{Readme} must hold the lines {Begin} and {End}: the report is written between them");
    }

    public static void Publish(string markdown)
    {
        File.WriteAllText(Repository.PathOf(DocumentPath), markdown);
        var path = Repository.PathOf(Readme);
        var readme = File.ReadAllText(path);
        var begin = readme.IndexOf(Begin, StringComparison.Ordinal) + Begin.Length;
        var end = readme.IndexOf(End, begin, StringComparison.Ordinal);
        File.WriteAllText(path, readme[..begin] + "\n" + markdown + readme[end..]);
    }

    public static string Render(Arguments arguments, Machine machine, DateTimeOffset started, TimeSpan took, IReadOnlyList<Section> sections)
    {
        var text = new StringBuilder();
        var command = $"{Environment.GetEnvironmentVariable("PERAZZI_BENCH_SCRIPT") ?? "PerazziSync.Benchmarks"} {string.Join(' ', arguments.Words)}";
        void Line(FormattableString line) => text.Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');

        Line($"<!-- Written by `{command}`: run it again rather than edit this. -->");
        Line($"### `{command}`, {started:yyyy-MM-dd HH:mm} UTC");
        Line($"");
        if (NotPublishable(arguments) is { Count: > 0 } reasons)
        {
            Line($"**Development run** ({string.Join(", ", reasons)}): not figures to quote.");
            Line($"");
        }
        Line($"- **Ran:** {arguments.Rounds} round{(arguments.Rounds == 1 ? "" : "s")} in {(int)took.TotalMinutes} min {took.Seconds} s, on commit `{machine.Commit}` built in {Build}.");
        Line($"- **Machine:** {machine.Cpu}; {machine.Cores} cores; {machine.Memory}; {machine.OperatingSystem}; {machine.DotNet}.");
        Line($"- **Servers:** {machine.PostgreSql}; {machine.RabbitMq}. On this machine they share its cores with the load generator and the hosts.");
        Line($"- **Load average** (1 / 5 / 15 min) when the run started: {machine.LoadAverage}.");
        Line($"");
        Line($"| measure | PerazziSync | reference, same rounds | PerazziSync / reference | target | met |");
        Line($"|---|---:|---:|---:|---:|:---|");
        foreach (var row in sections.SelectMany(s => s.Rows))
        {
            var product = row.Detail.Length == 0 ? row.Product.ToString() : $"{row.Product}; {row.Detail}";
            var reference = row.Reference is null ? row.ReferenceName : $"{row.ReferenceName}: {row.Reference}";
            var met = row.Met ? "yes" : "**no**";
            if (row.Failures.Count > 0)
            {
                met += ": " + string.Join("; ", row.Failures);
            }
            Line($"| {row.Measure} | {product} | {reference} | {row.Ratio?.ToString() ?? ""} | {row.Target.Describe(row.Judged.Unit)} | {met} |");
        }
        Line($"");
        Line($"Each figure is the median of the rounds, the lowest and the highest round in brackets. A round runs the reference, then PerazziSync, on the same services; a ratio is the median of the rounds' own ratios. Where a row has a measured reference its target applies to that ratio, otherwise to PerazziSync's figure; to the median unless it says every round. The met column is computed by the benchmark.");
        Line($"");
        Line($"#### What each side does");
        foreach (var section in sections)
        {
            Line($"");
            Line($"**{section.Name}.** {section.Ran} {section.Reference}");
            Line($"");
            Line($"- Only PerazziSync: {string.Join("; ", section.ProductOnly)}.");
            Line($"- Only the reference: {string.Join("; ", section.ReferenceOnly)}.");
            if (section.Profile.Count > 0)
            {
                Line($"- Where the CPU went (from /proc, by process): {string.Join("; ", section.Profile)}.");
            }
        }
        return text.ToString();
    }
}
