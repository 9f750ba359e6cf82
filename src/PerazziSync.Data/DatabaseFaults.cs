using Npgsql;

namespace PerazziSync.Data;

/// <summary>Database faults that go away by themselves: what they interrupted is tried again, never given up.</summary>
public static class DatabaseFaults
{
    /// <summary>SQLSTATE of a session ended by <c>idle_in_transaction_session_timeout</c>.</summary>
    const string IdleInTransactionSessionTimeout = "25P03";

    /// <summary>SQLSTATE of a session ended by <c>idle_session_timeout</c>.</summary>
    const string IdleSessionTimeout = "57P05";

    /// <summary>
    /// Npgsql's own rule, and PostgreSQL ending a session that sat idle
    /// (<c>idle_in_transaction_session_timeout</c> and <c>idle_session_timeout</c>, which the
    /// product sets on its writes): the session stalled because its connection did, and a fresh
    /// one will do.
    /// </summary>
    public static bool IsTransient(NpgsqlException exception) => exception.IsTransient || IsIdleTimeout(exception);

    /// <summary>
    /// A foreign key violation. Every key the product writes refers to a row its transaction has
    /// just read (a POS record's gun and owner, an order's customer), so the violation means that
    /// row was deleted meanwhile (GoTrue deleting an account, its cascade taking the user's guns),
    /// and the write tried again decides without it: a POS record of that gun is parked as of an
    /// unknown serial. It is tried again a few times, not for as long as it lasts: a write that
    /// broke a key for good would otherwise be held for ever, with the group it was written in.
    /// </summary>
    public static bool IsConcurrentDelete(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    /// <summary>PostgreSQL ended the session for sitting idle, in a transaction or not.</summary>
    public static bool IsIdleTimeout(Exception exception) =>
        exception is PostgresException { SqlState: IdleInTransactionSessionTimeout or IdleSessionTimeout };
}
