namespace PerazziSync.ServiceDefaults;

/// <summary>The <c>Management</c> section (environment: <c>Management__Urls</c>).</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>
    /// Where <c>/metrics</c> and <c>/health/*</c> are served, <c>;</c>-separated like
    /// <c>ASPNETCORE_URLS</c>, each with its port. When set, they are served only there and
    /// everything else only on <c>ASPNETCORE_URLS</c>; unset, one address serves both.
    /// </summary>
    public string? Urls { get; set; }
}
