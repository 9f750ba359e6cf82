using System.Text;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;
using PerazziSync.Pos.Records;

namespace PerazziSync.Receiver.Webhooks;

/// <summary><c>POST /webhooks/pos</c>: verify, validate the record (docs/sources.md), publish, answer.</summary>
public static class PosWebhooks
{
    const string Route = "pos";

    public static IEndpointRouteBuilder MapPosWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/webhooks/pos", ReceiveAsync);
        return app;
    }

    static async Task<IResult> ReceiveAsync(
        HttpRequest request,
        IOptions<ReceiverOptions> receiverOptions,
        PosSignature signature,
        ConfirmedDeliveries confirmed,
        PosRecordParser parser,
        IPublishEndpoint publisher,
        TimeProvider time,
        ILogger<PosSignature> logger,
        CancellationToken cancellationToken)
    {
        var receivedAt = time.GetUtcNow();
        var (body, rejection) = await WebhookBody.ReadAsync(request, receiverOptions.Value.MaxBodyBytes, cancellationToken);
        if (rejection is not null)
        {
            return ConfirmedPublish.Rejected(Route, rejection);
        }
        if (signature.Verifier.Verify(body!, request.Headers, receivedAt, out var signedAt) is { } unauthenticated)
        {
            ReceiverLog.Refused(logger, Route, unauthenticated);
            return ConfirmedPublish.Rejected(Route, new(StatusCodes.Status401Unauthorized, "unauthorized", unauthenticated));
        }
        var webhookId = request.Headers[WebhookSignature.IdHeader].ToString();
        if (confirmed.Contains(Route, webhookId))
        {
            return ConfirmedPublish.Duplicate(Route, webhookId, logger);
        }

        if (WebhookBody.NotUtf8(body!) is { } notUtf8)
        {
            return ConfirmedPublish.Rejected(Route, notUtf8);
        }

        PosParseResult parsed;
        try
        {
            using var document = JsonDocument.Parse(body);
            // The body was refused above unless it is UTF-8 throughout: a U+FFFD in it was sent as one.
            parsed = parser.FromJson(document.RootElement, Encoding.UTF8.GetString(body!));
        }
        catch (JsonException e)
        {
            return ConfirmedPublish.Rejected(Route, new(StatusCodes.Status400BadRequest, "malformed", e.Message));
        }
        if (parsed.Record is not { } record)
        {
            return ConfirmedPublish.Rejected(Route, new(StatusCodes.Status400BadRequest, "invalid_record", parsed.Error!));
        }

        return await ConfirmedPublish.AnswerAsync(publisher, new PosServiceRecordReceived(record, webhookId, receivedAt),
            Route, webhookId, signedAt, confirmed, receiverOptions.Value.PublishTimeout, logger);
    }
}

/// <summary>The POS route's verifier, built once from configuration.</summary>
sealed class PosSignature(IOptions<PosOptions> options)
{
    public WebhookSignature Verifier { get; } = new(options.Value.WebhookSecret);
}
