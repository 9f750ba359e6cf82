using System.Globalization;

namespace PerazziSync.Benchmarks;

/// <summary>Latency samples of one phase, safe to add to from many tasks.</summary>
sealed class Latencies
{
    readonly List<double> _milliseconds = [];

    public void Add(TimeSpan elapsed)
    {
        lock (_milliseconds)
        {
            _milliseconds.Add(elapsed.TotalMilliseconds);
        }
    }

    public int Count
    {
        get { lock (_milliseconds) { return _milliseconds.Count; } }
    }

    public string Percentile(double p)
    {
        lock (_milliseconds)
        {
            if (_milliseconds.Count == 0)
            {
                return "-";
            }
            _milliseconds.Sort();
            var index = (int)Math.Ceiling(p / 100 * _milliseconds.Count) - 1;
            return _milliseconds[Math.Clamp(index, 0, _milliseconds.Count - 1)].ToString("0.0", CultureInfo.InvariantCulture) + " ms";
        }
    }
}
