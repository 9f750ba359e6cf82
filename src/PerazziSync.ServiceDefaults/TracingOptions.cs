namespace PerazziSync.ServiceDefaults;

/// <summary>
/// The <c>Tracing</c> section (environment: <c>Tracing__SampleRatio</c>): which traces a host
/// exports over OTLP. Every failed or slow one always; of the others, this share.
/// </summary>
public sealed class TracingOptions
{
    public const string Section = "Tracing";

    /// <summary>
    /// The share of ordinary traces exported, from 0 to 1 (default 1: every trace). Chosen by
    /// trace id, the same way in every host, so a trace kept by the receiver is kept whole by the
    /// worker too.
    /// </summary>
    public double SampleRatio { get; set; } = 1;

    /// <summary>
    /// A request, message or job that took at least this long is slow, and its trace is
    /// exported whatever <see cref="SampleRatio"/> says (default 00:00:00.5).
    /// </summary>
    public TimeSpan SlowerThan { get; set; } = TimeSpan.FromMilliseconds(500);
}
