using System.Globalization;
using System.Text.RegularExpressions;

namespace PerazziSync.Testing;

/// <summary>A host's <c>/metrics</c>, read as Prometheus would.</summary>
public static partial class Metrics
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// The sum of every sample of <paramref name="name"/> whose labels include all of
    /// <paramref name="labels"/> (<c>key="value"</c>).
    /// </summary>
    public static async Task<double> ReadAsync(string hostUrl, string name, params string[] labels)
    {
        var text = await Http.GetStringAsync(hostUrl + "/metrics");
        double sum = 0;
        foreach (Match sample in Sample().Matches(text))
        {
            if (sample.Groups["name"].Value == name && labels.All(l => sample.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                sum += double.Parse(sample.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
