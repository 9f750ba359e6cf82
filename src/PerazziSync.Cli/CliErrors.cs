using Npgsql;

namespace PerazziSync.Cli;

/// <summary>What an operator is told when a verb stops on a fault of the outside world.</summary>
static class CliErrors
{
    /// <summary>
    /// PostgreSQL's own message and SQLSTATE for an error it reported; otherwise the chain of
    /// messages down to the cause (e.g. "Failed to connect to 127.0.0.1:5432: Connection refused").
    /// </summary>
    public static string Reason(NpgsqlException exception) => exception is PostgresException postgres
        ? $"{postgres.MessageText} (SQLSTATE {postgres.SqlState})"
        : string.Join(": ", Chain(exception).Select(e => e.Message.TrimEnd('.')).Distinct());

    static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }
}
