using System.Globalization;

namespace PerazziSync.Benchmarks;

sealed class Arguments
{
    readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);

    public string Command { get; private init; } = "";

    public static Arguments Parse(string[] args)
    {
        var parsed = new Arguments { Command = args.FirstOrDefault() ?? "" };
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            parsed._options[args[i].TrimStart('-')] = args[i + 1];
        }
        return parsed;
    }

    public int Int(string name, int fallback) =>
        _options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
