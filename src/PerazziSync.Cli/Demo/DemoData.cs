namespace PerazziSync.Cli.Demo;

/// <summary>
/// How everything the demo writes is marked, so none of it can be taken for real data and
/// <c>demo remove</c> finds all of it: these prefixes and this domain are reserved for the demo.
/// </summary>
static class DemoData
{
    /// <summary>A reserved top-level domain (RFC 2606): no real e-mail address is under it.</summary>
    public const string EmailDomain = "demo.perazzisync.invalid";

    public const string OwnerEmail = "owner@" + EmailDomain;

    /// <summary>Serials and POS work orders.</summary>
    public const string KeyPrefix = "DEMO-";

    /// <summary>Delivery ids of the demo's callbacks and names of its export files.</summary>
    public const string DeliveryPrefix = "demo-";

    public const string Serial = KeyPrefix + "MX8-0001";

    public const string UnknownSerial = KeyPrefix + "UNKNOWN-0001";

    public const string CallbackWorkOrder = KeyPrefix + "WO-0001";

    public const string ExportWorkOrder = KeyPrefix + "WO-0002";

    public const string ParkedWorkOrder = KeyPrefix + "WO-0003";

    public const string RejectedWorkOrder = KeyPrefix + "WO-0004";

    /// <summary>A demo run's id: its time, as in <c>demo-20261125T080000Z</c>.</summary>
    public const string RunPattern = @"^demo-[0-9]{8}T[0-9]{6}Z";

    /// <summary>The name of a demo run's export file.</summary>
    public const string FilePattern = RunPattern + @"\.csv$";

    /// <summary>The audit rows the demo's data left, its own and those its records caused, by their marks.</summary>
    public const string AuditRows = $"""
        (metadata->>'demo' = 'true'
         or metadata->>'source_key' like 'DEMO-%'
         or metadata->>'delivery_id' ~ '{RunPattern}'
         or metadata->>'file_name' ~ '{FilePattern}')
        """;
}
