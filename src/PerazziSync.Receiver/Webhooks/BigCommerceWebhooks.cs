using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;
using PerazziSync.ServiceDefaults;

namespace PerazziSync.Receiver.Webhooks;

/// <summary><c>POST /webhooks/bigcommerce</c>: verify, publish, answer (docs/sources.md).</summary>
public static class BigCommerceWebhooks
{
    const string Route = "bigcommerce";

    /// <summary>How much of a scope or producer a log line quotes: the caller chose them.</summary>
    const int LoggedLength = 100;

    static readonly HashSet<string> OrderScopes = new(BigCommerceScopes.Order, StringComparer.Ordinal);

    static readonly HashSet<string> CustomerScopes = new(BigCommerceScopes.Customer, StringComparer.Ordinal);

    public static IEndpointRouteBuilder MapBigCommerceWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/bigcommerce", ReceiveAsync);
        return app;
    }

    static async Task<IResult> ReceiveAsync(
        HttpRequest request,
        IOptions<ReceiverOptions> receiverOptions,
        IOptions<BigCommerceWebhookOptions> webhookOptions,
        BigCommerceSignature signature,
        ConfirmedDeliveries confirmed,
        IPublishEndpoint publisher,
        TimeProvider time,
        ILogger<BigCommerceSignature> logger,
        CancellationToken cancellationToken)
    {
        var receivedAt = time.GetUtcNow();
        var options = webhookOptions.Value;
        if (options.WaitsForStore)
        {
            // Nothing to authenticate against yet; BigCommerce retries a 503.
            Telemetry.WebhooksReceived.Add(1, Tag(), new("outcome", "unavailable"), new("reason", "no_store"));
            return TypedResults.Problem(
                detail: BigCommerceWebhookOptions.WaitingForStore,
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "waiting_for_store");
        }
        var (body, rejection) = await WebhookBody.ReadAsync(request, receiverOptions.Value.MaxBodyBytes, cancellationToken);
        if (rejection is not null)
        {
            return Rejected(rejection);
        }

        if (Authenticate(body!, request.Headers, options, signature, receivedAt, out var signedAt, out var delivery) is { } refused)
        {
            ReceiverLog.Refused(logger, Route, refused.Logged);
            return Rejected(new(StatusCodes.Status401Unauthorized, "unauthorized", refused.Answered));
        }
        var webhookId = request.Headers[WebhookSignature.IdHeader].ToString();
        if (delivery is not null && confirmed.Contains(Route, delivery))
        {
            return ConfirmedPublish.Duplicate(Route, delivery, logger);
        }

        if (WebhookBody.NotUtf8(body!) is { } notUtf8)
        {
            return Rejected(notUtf8);
        }

        Callback callback;
        try
        {
            callback = Callback.Parse(body!);
        }
        catch (JsonException e)
        {
            return Rejected(new(StatusCodes.Status400BadRequest, "malformed", e.Message));
        }

        // The configured hash is in lower case (BigCommerceStoreHash), as BigCommerce writes it;
        // its case is no part of the store's identity here either.
        if (!string.Equals(callback.Producer, $"stores/{options.StoreHash}", StringComparison.OrdinalIgnoreCase))
        {
            ReceiverLog.OtherStore(logger, PrintableText.Of(callback.Producer, LoggedLength));
            return Acknowledged("other_store");
        }
        var isOrder = OrderScopes.Contains(callback.Scope);
        var isDeliveryException = callback.Scope == BigCommerceScopes.HookDeliveryException;
        if (!isOrder && !isDeliveryException && !CustomerScopes.Contains(callback.Scope))
        {
            ReceiverLog.UnhandledScope(logger, PrintableText.Of(callback.Scope, LoggedLength));
            return Acknowledged("unhandled_scope");
        }
        if (callback.EntityId is not { } entityId)
        {
            return Rejected(new(StatusCodes.Status400BadRequest, "missing_field", "data.id must be a positive integer for this scope."));
        }

        if (delivery is null)
        {
            // Hooks authenticated by a shared header may come without a delivery id; such a
            // delivery gets a fresh one, and its retries are absorbed by the idempotent upsert.
            webhookId = delivery = $"unidentified-{NewId.NextGuid():N}";
        }
        object message = isOrder
            ? new BigCommerceOrderChanged(options.StoreHash!, entityId, callback.Scope, webhookId, receivedAt)
            : isDeliveryException
            ? new BigCommerceHookDeliveryFailed(options.StoreHash!, entityId, callback.ErrorCode, callback.Message, callback.CreatedAt, webhookId, receivedAt)
            : new BigCommerceCustomerChanged(options.StoreHash!, entityId, callback.Scope, webhookId, receivedAt);
        return await ConfirmedPublish.AnswerAsync(
            publisher, message, Route, delivery, signedAt, confirmed, receiverOptions.Value.PublishTimeout, logger);
    }

    /// <summary>
    /// Null when the callback is authenticated, else why not: as answered, and as logged. The
    /// shared header's name is as secret as its value, so only the log names it.
    /// <paramref name="signedAt"/> is when its <c>webhook-id</c> was vouched for: the signed
    /// timestamp, or the arrival of a delivery with an id and the shared header; null without an id.
    /// <paramref name="delivery"/> is what makes it the same delivery as another (docs/failures.md):
    /// a signed one's <c>webhook-id</c>, which the signature binds to the body; under the shared
    /// header nothing does, so the id and a digest of the body; null without an id.
    /// </summary>
    static (string Answered, string Logged)? Authenticate(
        byte[] body, IHeaderDictionary headers, BigCommerceWebhookOptions options, BigCommerceSignature signature, DateTimeOffset now,
        out DateTimeOffset? signedAt, out string? delivery)
    {
        signedAt = null;
        delivery = null;
        string? reason;
        if (signature.Verifier.IsConfigured && WebhookSignature.HasSignatureHeaders(headers))
        {
            reason = signature.Verifier.Verify(body, headers, now, out var timestamp);
            signedAt = timestamp;
            delivery = headers[WebhookSignature.IdHeader].ToString();
        }
        else if (options.HasSharedHeader && headers.TryGetValue(options.WebhookHeaderName!, out var shared))
        {
            // Sent twice, its values would be read joined by a comma: one credential, one id, never a choice.
            if (shared.Count != 1)
            {
                return ("the credentials must be sent once", $"the {options.WebhookHeaderName} header was sent {shared.Count} times");
            }
            if (!WebhookSignature.SharedHeaderMatches(options.WebhookHeaderValue!, shared[0]))
            {
                return ("the credentials do not match", $"the {options.WebhookHeaderName} header does not match");
            }
            // Without a signature the delivery id is optional, but one that is sent becomes the message's.
            var ids = headers[WebhookSignature.IdHeader];
            var id = ids.ToString();
            reason = ids.Count > 1 ? $"the {WebhookSignature.IdHeader} header must be sent once, not {ids.Count} times"
                : id.Length == 0 ? null : WebhookSignature.IdProblem(id);
            signedAt = id.Length == 0 ? null : now;
            // A space cannot be in an id, so no id and digest is another id.
            delivery = id.Length == 0 ? null : $"{id} {Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16))}";
        }
        else
        {
            reason = signature.Verifier.IsConfigured
                ? $"the {WebhookSignature.IdHeader}, {WebhookSignature.TimestampHeader} and {WebhookSignature.SignatureHeader} headers are required"
                : "credentials are required";
        }
        return reason is null ? null : (reason, reason);
    }

    static IResult Rejected(Rejection rejection) => ConfirmedPublish.Rejected(Route, rejection);

    static Ok<Acknowledgement> Acknowledged(string reason)
    {
        Telemetry.WebhooksReceived.Add(1, Tag(), new("outcome", "ignored"), new("reason", reason));
        return TypedResults.Ok(new Acknowledgement("ignored", reason, null));
    }

    static KeyValuePair<string, object?> Tag() => new("route", Route);

    /// <summary>
    /// The parts of a callback the receiver needs; everything else is tolerated and ignored.
    /// <see cref="EntityId"/> is the order, customer or hook; a delivery exception adds its error
    /// code and message, and BigCommerce's <c>created_at</c>.
    /// </summary>
    sealed record Callback(string Scope, string Producer, long? EntityId, int? ErrorCode, string? Message, DateTimeOffset? CreatedAt)
    {
        public static Callback Parse(byte[] body)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("The body must be a JSON object.");
            }
            if (!root.TryGetProperty("scope", out var scope) || scope.ValueKind != JsonValueKind.String || Text(scope, "scope") is not { Length: > 0 } scopeText)
            {
                throw new JsonException("\"scope\" is required and must be a string.");
            }
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                throw new JsonException("\"data\" is required and must be an object.");
            }
            // BigCommerce names the store in every callback; one that does not cannot be told from another store's.
            if (!root.TryGetProperty("producer", out var p) || p.ValueKind != JsonValueKind.String)
            {
                throw new JsonException("\"producer\" is required and must name the store as stores/<hash>.");
            }
            var producer = Text(p, "producer");
            long? id = data.TryGetProperty("id", out var idValue) ? idValue.ValueKind switch
            {
                JsonValueKind.Number when idValue.TryGetInt64(out var n) && n > 0 => n,
                JsonValueKind.String when long.TryParse(Text(idValue, "data.id"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 => n,
                _ => null,
            } : null;
            int? errorCode = data.TryGetProperty("error_code", out var code) && code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var c) ? c : null;
            var message = data.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? StorableText.Of(Text(m, "data.message"), 1000) : null;
            DateTimeOffset? createdAt = root.TryGetProperty("created_at", out var created) && created.ValueKind == JsonValueKind.Number
                && created.TryGetInt64(out var seconds) && seconds is > 0 and < 253402300800
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
            return new Callback(scopeText, producer, id, errorCode, message, createdAt);
        }

        /// <summary>The string <paramref name="value"/>; one that escapes half a surrogate pair is no text and makes the body malformed.</summary>
        static string Text(JsonElement value, string name) =>
            JsonText.Of(value) ?? throw new JsonException($"\"{name}\" is not valid Unicode text (it escapes a lone UTF-16 surrogate).");
    }
}

/// <summary>The BigCommerce route's verifier, built once from configuration.</summary>
sealed class BigCommerceSignature(IOptions<BigCommerceWebhookOptions> options)
{
    public WebhookSignature Verifier { get; } = new(options.Value.WebhookSecret);
}

/// <summary>The 200 body: accepted with its message id, or ignored with the reason.</summary>
public sealed record Acknowledgement(string Status, string? Reason, Guid? MessageId);
