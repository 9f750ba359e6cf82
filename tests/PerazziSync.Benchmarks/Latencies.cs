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

    /// <summary>The <paramref name="p"/>th percentile in milliseconds (nearest rank); NaN without samples.</summary>
    public double Percentile(double p)
    {
        lock (_milliseconds)
        {
            if (_milliseconds.Count == 0)
            {
                return double.NaN;
            }
            _milliseconds.Sort();
            var index = (int)Math.Ceiling(p / 100 * _milliseconds.Count) - 1;
            return _milliseconds[Math.Clamp(index, 0, _milliseconds.Count - 1)];
        }
    }
}
