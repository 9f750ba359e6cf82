using PerazziSync.Contracts;
using PerazziSync.Pos.Records;

namespace PerazziSync.Receiver.Webhooks;

public static class WebhookReceiverExtensions
{
    /// <summary>The webhook routes' options, validated at start-up, and what the routes need.</summary>
    public static IHostApplicationBuilder AddWebhookReceiver(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReceiverOptions>()
            .BindConfiguration(ReceiverOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<BigCommerceWebhookOptions>()
            .BindConfiguration(BigCommerceWebhookOptions.Section)
            .PostConfigure(o => o.StoreHash = BigCommerceStoreHash.Canonical(o.StoreHash))
            .ValidateDataAnnotations()
            .Validate(o => string.IsNullOrEmpty(o.StoreHash) || BigCommerceStoreHash.IsValid(o.StoreHash), BigCommerceStoreHash.Refusal)
            .Validate(o => o.WaitsForStore || !string.IsNullOrEmpty(o.WebhookSecret) || o.HasSharedHeader,
                "BigCommerce:WebhookSecret is not set (environment variable BigCommerce__WebhookSecret); " +
                "set it, or BigCommerce:WebhookHeaderName and BigCommerce:WebhookHeaderValue")
            .Validate(o => string.IsNullOrEmpty(o.WebhookHeaderName) == string.IsNullOrEmpty(o.WebhookHeaderValue),
                "BigCommerce:WebhookHeaderName and BigCommerce:WebhookHeaderValue (environment variables BigCommerce__WebhookHeaderName, __WebhookHeaderValue) are set together or not at all")
            .Validate(o => string.IsNullOrEmpty(o.WebhookSecret) || IsBase64(o.WebhookSecret),
                "BigCommerce:WebhookSecret must be base64 (optionally prefixed whsec_)")
            .ValidateOnStart();
        builder.Services.AddSingleton<BigCommerceSignature>();
        builder.Services.AddHealthChecks().AddCheck<WaitingForStoreCheck>("bigcommerce", tags: [Telemetry.ReadyTag]);
        builder.Services.AddHostedService<WaitingForStoreNotice>();
        builder.AddPosOptions()
            .Validate(o => !string.IsNullOrEmpty(o.WebhookSecret),
                "Pos:WebhookSecret is not set (environment variable Pos__WebhookSecret)")
            .Validate(o => string.IsNullOrEmpty(o.WebhookSecret) || IsBase64(o.WebhookSecret),
                "Pos:WebhookSecret must be base64 (optionally prefixed whsec_)");
        builder.Services.AddSingleton<PosSignature>();
        builder.Services.AddSingleton<ConfirmedDeliveries>();
        builder.Services.AddProblemDetails();
        return builder;
    }

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app) =>
        app.MapBigCommerceWebhooks().MapPosWebhooks();

    static bool IsBase64(string secret)
    {
        var value = secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret["whsec_".Length..] : secret;
        return Convert.TryFromBase64String(value, new byte[value.Length], out _);
    }
}
