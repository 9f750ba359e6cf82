namespace PerazziSync.Worker;

static partial class WorkerLog
{
    [LoggerMessage(LogLevel.Information, "BigCommerce order {OrderId} ({Scope}): {Outcome}")]
    public static partial void OrderOutcome(ILogger logger, long orderId, string scope, string outcome);

    [LoggerMessage(LogLevel.Warning, "Fetching {Orders} BigCommerce orders failed ({Reason}); their callbacks fail with it: tried again if it is transient, dead-lettered if not")]
    public static partial void OrderFetchFailed(ILogger logger, Exception exception, int orders, string reason);

    [LoggerMessage(LogLevel.Information, "BigCommerce customer {CustomerId} ({Scope}): {Outcome}")]
    public static partial void CustomerOutcome(ILogger logger, long customerId, string scope, string outcome);

    [LoggerMessage(LogLevel.Information, "Reconciliation of store {StoreHash} listed and applied {Orders} orders and {Customers} customers")]
    public static partial void Reconciled(ILogger logger, string storeHash, int orders, int customers);

    [LoggerMessage(LogLevel.Warning, "Reconciliation: BigCommerce {EntityType} {Id} cannot be read ({Reason}); published as a change, whose consumer dead-letters it")]
    public static partial void ListedMalformed(ILogger logger, string entityType, long id, string reason);

    [LoggerMessage(LogLevel.Debug, "Reconciliation: {EntityType} {Id} listed as malformed as when it was handed over; not again")]
    public static partial void ListedMalformedAgain(ILogger logger, string entityType, long id);

    [LoggerMessage(LogLevel.Warning, "Reconciliation: BigCommerce listed a {EntityType} without a readable id ({Reason}); skipped")]
    public static partial void ListedWithoutId(ILogger logger, string entityType, string reason);

    [LoggerMessage(LogLevel.Information, "POS record {SourceRecordId}: {Outcome}")]
    public static partial void PosOutcome(ILogger logger, string sourceRecordId, string outcome);

    [LoggerMessage(LogLevel.Information, "POS record {SourceRecordId} verified the claim on its serial (pos_match); {Attached} parked records attached")]
    public static partial void PosClaimVerified(ILogger logger, string sourceRecordId, long attached);

    [LoggerMessage(LogLevel.Information, "Re-match attached {Records} parked POS records to verified assets")]
    public static partial void Rematched(ILogger logger, long records);

    [LoggerMessage(LogLevel.Information, "Re-match weighed parked POS records against new claims: {Verified} verified (pos_match), {Reviewed} left for review")]
    public static partial void RematchWeighed(ILogger logger, long verified, long reviewed);

    [LoggerMessage(LogLevel.Information, "POS export {FileName} imported: {Applied} applied, {Parked} parked, {Rejected} rejected")]
    public static partial void PosFileImported(ILogger logger, string fileName, long applied, long parked, long rejected);

    [LoggerMessage(LogLevel.Warning, "POS export {FileName} failed: {Reason}; moved to failed/")]
    public static partial void PosFileFailed(ILogger logger, string fileName, string reason);

    [LoggerMessage(LogLevel.Warning, "POS export {FileName}: an import attempt failed; it is tried again at the next poll, at most {MaxAttempts} attempts without progress")]
    public static partial void PosFileAttemptFailed(ILogger logger, Exception exception, string fileName, int maxAttempts);

    [LoggerMessage(LogLevel.Warning, "POS export {FileName} waits for the database ({Reason}); the poll ends here")]
    public static partial void PosFileWaiting(ILogger logger, string fileName, string reason);

    [LoggerMessage(LogLevel.Information, "Re-attempting {Count} parked BigCommerce events")]
    public static partial void ParkedRetried(ILogger logger, int count);

    [LoggerMessage(LogLevel.Warning, "BigCommerce could not deliver to hook {HookId} (error {ErrorCode}): {Description}; checking the subscriptions")]
    public static partial void DeliveryFailed(ILogger logger, long hookId, string errorCode, string description);

    [LoggerMessage(LogLevel.Warning, "BigCommerce's delivery exception for hook {HookId} dates the failure {CreatedAt}, before BigCommerce's retries could have brought it; its gap begins at {Since} instead")]
    public static partial void DeliveryFailureBounded(ILogger logger, long hookId, DateTimeOffset createdAt, DateTimeOffset since);

    [LoggerMessage(LogLevel.Information, "Reconciliation lists {EntityType}s from {Since}, the start of a gap a quiet subscription left")]
    public static partial void ReconcilingGap(ILogger logger, string entityType, DateTimeOffset since);

    [LoggerMessage(LogLevel.Debug, "Job {Job} firing at {ScheduledAt} was claimed by another worker")]
    public static partial void FiringTaken(ILogger logger, string job, DateTimeOffset scheduledAt);
}
