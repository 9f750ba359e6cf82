using System.Text.Json;

namespace PerazziSync.BigCommerce.Records;

/// <summary>One webhook subscription of the store, as <c>GET /v3/hooks</c> returns it.</summary>
/// <param name="Headers">The custom headers BigCommerce sends with every callback; empty when it has none (BigCommerce says null).</param>
/// <param name="UpdatedAt">When BigCommerce last changed the hook, e.g. deactivated it.</param>
public sealed record BigCommerceHook(
    long Id,
    string Scope,
    string Destination,
    bool IsActive,
    IReadOnlyDictionary<string, string> Headers,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? UpdatedAt)
{
    public static BigCommerceHook Parse(JsonElement hook) => new(
        Id: Json.RequiredInt64(hook, "id", "hook"),
        Scope: Json.OptionalString(hook, "scope") ?? throw new BigCommercePayloadException("A hook has no \"scope\""),
        Destination: Json.OptionalString(hook, "destination") ?? throw new BigCommercePayloadException("A hook has no \"destination\""),
        // The flag defaults to true when BigCommerce leaves it out.
        IsActive: !hook.TryGetProperty("is_active", out var active) || active.ValueKind != JsonValueKind.False,
        Headers: hook.TryGetProperty("headers", out var headers) && headers.ValueKind == JsonValueKind.Object
            ? headers.EnumerateObject().ToDictionary(h => h.Name, h => h.Value.ValueKind == JsonValueKind.String ? h.Value.GetString()! : h.Value.GetRawText())
            : new Dictionary<string, string>(),
        CreatedAt: Json.UnixSeconds(hook, "created_at"),
        UpdatedAt: Json.UnixSeconds(hook, "updated_at"));
}

/// <summary>The API account's admin view (<c>GET /v3/hooks/admin</c>): who is told about trouble, and which domains are blocked.</summary>
/// <param name="Emails">Where BigCommerce sends its notices when a hook is deactivated or a domain blocked.</param>
public sealed record HooksAdmin(IReadOnlyList<string> Emails, IReadOnlyList<BlockedDomain> BlockedDomains)
{
    public static HooksAdmin Parse(JsonElement data) => new(
        Emails: data.TryGetProperty("emails", out var emails) && emails.ValueKind == JsonValueKind.Array
            ? emails.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
            : [],
        BlockedDomains: data.TryGetProperty("blocked_domains", out var blocked) && blocked.ValueKind == JsonValueKind.Array
            ? blocked.EnumerateArray().Select(BlockedDomain.Parse).ToList()
            : []);
}

/// <summary>A destination domain BigCommerce sends nothing to for <see cref="TimeLeft"/>, because deliveries to it kept failing.</summary>
public sealed record BlockedDomain(string Destination, TimeSpan TimeLeft, IReadOnlyList<BlockReason> Reasons)
{
    public static BlockedDomain Parse(JsonElement domain) => new(
        Destination: Json.OptionalString(domain, "destination") ?? throw new BigCommercePayloadException("A blocked domain has no \"destination\""),
        TimeLeft: TimeSpan.FromSeconds(Math.Max(0, Json.OptionalInt64(domain, "time_left") ?? 0)),
        Reasons: domain.TryGetProperty("reasons", out var reasons) && reasons.ValueKind == JsonValueKind.Array
            ? reasons.EnumerateArray().Select(r => new BlockReason(
                Json.OptionalString(r, "failure_description") ?? "",
                (int)Math.Clamp(Json.OptionalInt64(r, "count") ?? 0, 0, int.MaxValue),
                Json.UnixSeconds(r, "timestamp"))).ToList()
            : []);

    /// <summary>The blocked host, whether BigCommerce wrote a URL or a bare domain.</summary>
    public string Host => Uri.TryCreate(Destination, UriKind.Absolute, out var url) && url.Host.Length > 0
        ? url.Host
        : Destination.Split('/', 2)[0].Split(':', 2)[0];
}

/// <summary>Why a domain is blocked: how many deliveries failed, how, and when.</summary>
public sealed record BlockReason(string Description, int Count, DateTimeOffset? At);
