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
public sealed record PosServiceRecord(
    string SourceRecordId,
    string SerialNumber,
    string Status,
    DateTimeOffset? ServiceDate,
    string? WorkSummary,
    IReadOnlyList<string> Attachments,
    DateTimeOffset UpdatedAt,
    string RawPayload);

/// <summary>The POS called back with one changed service record.</summary>
public sealed record PosServiceRecordReceived(
    PosServiceRecord Record,
    string WebhookId,
    DateTimeOffset ReceivedAt);

/// <summary>A chunk of a POS batch export.</summary>
/// <param name="ImportId">The import (one file) the chunk belongs to.</param>
/// <param name="FirstLine">Line number of the chunk's first record in the file.</param>
public sealed record PosServiceRecordsBatchReceived(
    Guid ImportId,
    long FirstLine,
    IReadOnlyList<PosServiceRecord> Records,
    DateTimeOffset ReceivedAt);
