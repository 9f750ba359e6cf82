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
    /// Npgsql's own rule; PostgreSQL ending a session that sat idle
    /// (<c>idle_in_transaction_session_timeout</c> and <c>idle_session_timeout</c>, which the
    /// product sets on its writes): the session stalled because its connection did, and a fresh
    /// one will do; and a foreign key violation: every key the product writes refers to a row its
    /// transaction has just read (a POS record's gun and owner, an order's customer), so a
    /// violation means that row was deleted meanwhile (GoTrue deleting an account, its cascade
    /// taking the user's guns), and the write tried again decides without it (a POS record of that
    /// gun is parked as of an unknown serial) instead of being dead-lettered.
    /// </summary>
    public static bool IsTransient(NpgsqlException exception) =>
        exception.IsTransient || IsIdleTimeout(exception) || exception is PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };

    /// <summary>PostgreSQL ended the session for sitting idle, in a transaction or not.</summary>
    public static bool IsIdleTimeout(Exception exception) =>
        exception is PostgresException { SqlState: IdleInTransactionSessionTimeout or IdleSessionTimeout };
}
