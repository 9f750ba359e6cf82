namespace PerazziSync.Contracts;

/// <summary>One Perazzi POS service record, as received (docs/sources.md).</summary>
/// <param name="SourceRecordId">The POS work-order id.</param>
/// <param name="SerialNumber">The gun's serial as the POS sent it (matched after trim and upper-case).</param>
/// <param name="Status"><c>received</c>, <c>in_service</c> or <c>completed</c>.</param>
/// <param name="ServiceDate">The service date, already resolved to an offset.</param>
/// <param name="WorkSummary">Free text.</param>
/// <param name="Attachments">Storage paths.</param>
/// <param name="UpdatedAt">The record's version: an older one never overwrites a newer one.</param>
/// <param name="RawPayload">The record exactly as received, extra fields included.</param>
/// <param name="CustomerEmail">
/// The workshop customer's e-mail, trimmed, when the POS sent one: it verifies a pending claim on
/// the serial when it is the claimant's confirmed e-mail (docs/sync-rules.md).
/// </param>
/// <param name="CustomerName">The workshop customer's name, trimmed, when the POS sent one: evidence for a review.</param>
public sealed record PosServiceRecord(
    string SourceRecordId,
    string SerialNumber,
    string Status,
    DateTimeOffset? ServiceDate,
    string? WorkSummary,
    IReadOnlyList<string> Attachments,
    DateTimeOffset UpdatedAt,
    string RawPayload,
    string? CustomerEmail = null,
    string? CustomerName = null);

/// <summary>The POS called back with one changed service record.</summary>
public sealed record PosServiceRecordReceived(
    PosServiceRecord Record,
    string WebhookId,
    DateTimeOffset ReceivedAt);
