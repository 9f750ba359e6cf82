using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;
using Polly;

namespace PerazziSync.BigCommerce.Api;

public static class BigCommerceClientExtensions
{
    /// <summary>
    /// The typed BigCommerce client: options from the <c>BigCommerce</c> section, validated at
    /// start-up; retries with exponential backoff and jitter on 5xx, 408, 429 and timeouts (a POST
    /// only on 429: it is not safe to repeat); every
    /// attempt drawn from the store's shared request budget. Needs an <c>NpgsqlDataSource</c>.
    /// Without a store (<see cref="BigCommerceOptions.WaitsForStore"/>) it is registered all the
    /// same; nothing calls it.
    /// </summary>
    public static IHostApplicationBuilder AddBigCommerceClient(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<BigCommerceOptions>()
            .BindConfiguration(BigCommerceOptions.Section)
            .PostConfigure(o => o.StoreHash = BigCommerceStoreHash.Canonical(o.StoreHash))
            .ValidateDataAnnotations()
            .Validate(o => o.ApiBaseUrl.IsAbsoluteUri && o.ApiBaseUrl.Scheme is "http" or "https",
                "BigCommerce:ApiBaseUrl must be an absolute http(s) URL")
            .Validate(o => o.WaitsForStore || !string.IsNullOrWhiteSpace(o.StoreHash),
                "BigCommerce:StoreHash is not set (environment variable BigCommerce__StoreHash), but BigCommerce:AccessToken is: set both, or neither to wait for a store")
            .Validate(o => string.IsNullOrEmpty(o.StoreHash) || BigCommerceStoreHash.IsValid(o.StoreHash), BigCommerceStoreHash.Refusal)
            .Validate(o => o.WaitsForStore || !string.IsNullOrWhiteSpace(o.AccessToken),
                "BigCommerce:AccessToken is not set (environment variable BigCommerce__AccessToken), but BigCommerce:StoreHash is: set both, or neither to wait for a store")
            .Validate(o => string.IsNullOrEmpty(o.WebhookHeaderName) == string.IsNullOrEmpty(o.WebhookHeaderValue),
                "BigCommerce:WebhookHeaderName and BigCommerce:WebhookHeaderValue (environment variables BigCommerce__WebhookHeaderName, __WebhookHeaderValue) are set together or not at all")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RequestBudget>();
        builder.Services.AddTransient<RateLimitHandler>();

        var client = builder.Services.AddHttpClient<BigCommerceClient>((sp, http) =>
            {
                var root = sp.GetRequiredService<IOptions<BigCommerceOptions>>().Value.ApiBaseUrl.ToString();
                http.BaseAddress = new Uri(root.EndsWith('/') ? root : root + "/");
                // Each attempt has its own timeout (RateLimitHandler); the whole call is bounded
                // by the caller's cancellation, since waiting for the budget may take a window.
                http.Timeout = Timeout.InfiniteTimeSpan;
            });
        client.AddResilienceHandler("bigcommerce", pipeline => pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(500),
                MaxDelay = TimeSpan.FromSeconds(15),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    // A POST creates (a hook): one BigCommerce carried out but whose answer was
                    // lost, to a 502 or 504 of its gateway or a timeout, would be made twice by
                    // another attempt. Only a 429 says it was not carried out. Whoever posted
                    // lists again to see what became of it; GET, PUT and DELETE repeat safely.
                    _ when args.Context.GetRequestMessage()?.Method == HttpMethod.Post =>
                        args.Outcome.Result?.StatusCode == HttpStatusCode.TooManyRequests,
                    { Exception: HttpRequestException or Polly.Timeout.TimeoutRejectedException } => true,
                    { Result: { } response } => (int)response.StatusCode >= 500
                        || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout,
                    _ => false,
                }),
            }));
        client.AddHttpMessageHandler<RateLimitHandler>();
        return builder;
    }

}
