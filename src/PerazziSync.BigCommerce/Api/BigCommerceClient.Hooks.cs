using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PerazziSync.BigCommerce.Records;

namespace PerazziSync.BigCommerce.Api;

/// <summary>The store's webhook subscriptions (Webhooks V3), through the same retries and shared budget as the sync.</summary>
public sealed partial class BigCommerceClient
{
    const int HookPageSize = 100;

    /// <summary>Every hook of the API account on this store (BigCommerce lists only the account's own).</summary>
    public async Task<IReadOnlyList<BigCommerceHook>> ListHooksAsync(CancellationToken cancellationToken)
    {
        var hooks = new List<BigCommerceHook>();
        for (var page = 1; ; page++)
        {
            var (body, _) = await GetAsync($"stores/{Store}/v3/hooks?page={page}&limit={HookPageSize}", cancellationToken);
            if (body is not { } envelope || !envelope.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                return hooks;
            }
            hooks.AddRange(data.EnumerateArray().Select(BigCommerceHook.Parse));
            if (!HasMorePages(envelope, data.GetArrayLength(), HookPageSize))
            {
                return hooks;
            }
        }
    }

    /// <summary>The API account's admin view: notification e-mails and blocked domains.</summary>
    public async Task<HooksAdmin> GetHooksAdminAsync(CancellationToken cancellationToken)
    {
        var (body, _) = await GetAsync($"stores/{Store}/v3/hooks/admin", cancellationToken);
        return body is { } envelope && envelope.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            ? HooksAdmin.Parse(data)
            : throw new BigCommercePayloadException("GET /v3/hooks/admin returned no data object");
    }

    /// <summary>Subscribes <paramref name="destination"/> to <paramref name="scope"/>, active, with <paramref name="headers"/> (none when empty).</summary>
    public async Task<BigCommerceHook> CreateHookAsync(
        string scope, string destination, IReadOnlyDictionary<string, string> headers, CancellationToken cancellationToken)
    {
        var request = new JsonObject
        {
            ["scope"] = scope,
            ["destination"] = destination,
            ["is_active"] = true,
        };
        if (headers.Count > 0)
        {
            request["headers"] = Headers(headers);
        }
        return Hook(await SendAsync(HttpMethod.Post, $"stores/{Store}/v3/hooks", request, cancellationToken), "POST /v3/hooks");
    }

    /// <summary>
    /// Changes what <paramref name="changes"/> names of hook <paramref name="hookId"/>, nothing
    /// else; null when BigCommerce no longer has the hook (404: deleted by hand, by another
    /// integration, since it was listed).
    /// </summary>
    public async Task<BigCommerceHook?> UpdateHookAsync(long hookId, HookChanges changes, CancellationToken cancellationToken)
    {
        var request = new JsonObject();
        if (changes.IsActive is { } active)
        {
            request["is_active"] = active;
        }
        if (changes.Destination is { } destination)
        {
            request["destination"] = destination;
        }
        if (changes.Headers is { } headers)
        {
            request["headers"] = Headers(headers);
        }
        if (request.Count == 0)
        {
            throw new ArgumentException("An update names at least one field", nameof(changes));
        }
        var response = await SendAsync(HttpMethod.Put, HookPath(hookId), request, cancellationToken);
        return response.Body is null ? null : Hook(response, "PUT /v3/hooks/{id}");
    }

    /// <summary>Deletes hook <paramref name="hookId"/>; false when BigCommerce no longer had it.</summary>
    public async Task<bool> DeleteHookAsync(long hookId, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Delete, HookPath(hookId), null, cancellationToken)).Body is not null;

    string HookPath(long hookId) => $"stores/{Store}/v3/hooks/{hookId.ToString(CultureInfo.InvariantCulture)}";

    static JsonObject Headers(IReadOnlyDictionary<string, string> headers)
    {
        var json = new JsonObject();
        foreach (var (name, value) in headers)
        {
            json[name] = value;
        }
        return json;
    }

    static BigCommerceHook Hook((JsonElement? Body, DateTimeOffset SentAt) response, string what) =>
        response.Body is { } envelope && envelope.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
            ? BigCommerceHook.Parse(data)
            : throw new BigCommercePayloadException($"{what} returned no hook");

    /// <summary>
    /// Whether a V3 listing goes on: by its pagination when it has one (BigCommerce may cap the
    /// page size below what was asked), else while pages come full.
    /// </summary>
    static bool HasMorePages(JsonElement envelope, int count, int pageSize) =>
        envelope.TryGetProperty("meta", out var meta)
        && meta.TryGetProperty("pagination", out var pagination)
        && pagination.TryGetProperty("current_page", out var current) && current.TryGetInt32(out var currentPage)
        && pagination.TryGetProperty("total_pages", out var total) && total.TryGetInt32(out var totalPages)
            ? currentPage < totalPages
            : count >= pageSize;
}

/// <summary>What an update of a hook changes; null fields stay as they are.</summary>
/// <param name="Headers">The hook's whole set of custom headers.</param>
public sealed record HookChanges(bool? IsActive = null, string? Destination = null, IReadOnlyDictionary<string, string>? Headers = null);
