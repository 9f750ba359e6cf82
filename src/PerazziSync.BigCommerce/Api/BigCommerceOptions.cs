using System.ComponentModel.DataAnnotations;

namespace PerazziSync.BigCommerce.Api;

/// <summary>The <c>BigCommerce</c> section: where the store's API is and how much of it we may use.</summary>
public sealed class BigCommerceOptions
{
    public const string Section = "BigCommerce";

    /// <summary>API root; the client appends <c>/stores/{hash}/v2/...</c> and <c>/stores/{hash}/v3/...</c>.</summary>
    [Required]
    public Uri ApiBaseUrl { get; set; } = new("https://api.bigcommerce.com");

    [Required(ErrorMessage = "BigCommerce:StoreHash is not set (environment variable BigCommerce__StoreHash)")]
    public string? StoreHash { get; set; }

    /// <summary>The <c>X-Auth-Token</c> of the API account.</summary>
    [Required(ErrorMessage = "BigCommerce:AccessToken is not set (environment variable BigCommerce__AccessToken)")]
    public string? AccessToken { get; set; }

    /// <summary>The store's quota per window: 150 requests per 30 s on a Standard plan.</summary>
    [Range(1, 100_000)]
    public int RequestsPerWindow { get; set; } = 150;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RateLimitWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one HTTP attempt may take once it is sent.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
