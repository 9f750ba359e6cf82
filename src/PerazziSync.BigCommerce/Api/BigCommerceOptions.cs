using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;

namespace PerazziSync.BigCommerce.Api;

/// <summary>The <c>BigCommerce</c> section: where the store's API is and how much of it we may use.</summary>
public sealed class BigCommerceOptions
{
    public const string Section = "BigCommerce";

    /// <summary>API root; the client appends <c>/stores/{hash}/v2/...</c> and <c>/stores/{hash}/v3/...</c>.</summary>
    [Required]
    public Uri ApiBaseUrl { get; set; } = new("https://api.bigcommerce.com");

    /// <summary>
    /// The store, trimmed and in lower case once bound (<see cref="PerazziSync.Contracts.BigCommerceStoreHash"/>).
    /// Unset together with <see cref="AccessToken"/>, the product waits for a store (<see cref="WaitsForStore"/>).
    /// </summary>
    public string? StoreHash { get; set; }

    /// <summary>The <c>X-Auth-Token</c> of the API account.</summary>
    public string? AccessToken { get; set; }

    /// <summary>The shared header the receiver accepts instead of a signature; the product's hooks carry it when set.</summary>
    public string? WebhookHeaderName { get; set; }

    public string? WebhookHeaderValue { get; set; }

    /// <summary>The store's quota per window: 150 requests per 30 s on a Standard plan.</summary>
    [Range(1, 100_000)]
    public int RequestsPerWindow { get; set; } = 150;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one HTTP attempt may take once it is sent.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Neither the store nor its token is set: a first run before the operator has an API account.
    /// The POS side works; the BigCommerce side says it waits for a store. One set without the
    /// other is a mistake, and start-up refuses it.
    /// </summary>
    public bool WaitsForStore => string.IsNullOrWhiteSpace(StoreHash) && string.IsNullOrWhiteSpace(AccessToken);

    /// <summary>The shared header, when both its name and value are set.</summary>
    public KeyValuePair<string, string>? SharedHeader =>
        string.IsNullOrEmpty(WebhookHeaderName) || string.IsNullOrEmpty(WebhookHeaderValue) ? null : new(WebhookHeaderName, WebhookHeaderValue);

    /// <summary>What an operator reads when the product waits for a store.</summary>
    public const string WaitingForStore =
        "waiting for a store: set BigCommerce__StoreHash and BigCommerce__AccessToken (a store-level API account) and restart";

    /// <summary><see cref="WaitsForStore"/> read from raw configuration, for what is decided while a host is being built.</summary>
    public static bool WaitsForStoreIn(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        return string.IsNullOrWhiteSpace(section[nameof(StoreHash)]) && string.IsNullOrWhiteSpace(section[nameof(AccessToken)]);
    }
}
