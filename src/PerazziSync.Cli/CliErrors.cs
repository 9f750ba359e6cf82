using Npgsql;
using PerazziSync.BigCommerce.Api;
using Polly.Timeout;

namespace PerazziSync.Cli;

/// <summary>What an operator is told when a verb stops on a fault of the outside world.</summary>
static class CliErrors
{
    /// <summary>
    /// One line for a fault of the database, the store's API or another HTTP service (unreachable,
    /// silent, refusing the login or the request); null for anything else, which is a bug and
    /// keeps its stack trace.
    /// </summary>
    public static string? Describe(Exception exception) => exception switch
    {
        PostgresException postgres => $"PostgreSQL: {postgres.MessageText} (SQLSTATE {postgres.SqlState})",
        NpgsqlException database => $"PostgreSQL: {Chain(database)}",
        BigCommerceRequestException store => store.Message,
        HttpRequestException request => $"The request failed: {Chain(request)}",
        TimeoutRejectedException timeout => $"No answer in time: {timeout.Message}",
        _ => null,
    };

    /// <summary>
    /// The messages down to the cause, each once, e.g. "Failed to connect to 127.0.0.1:5432:
    /// Connection refused": a cause an outer message already quotes is not repeated.
    /// </summary>
    static string Chain(Exception exception)
    {
        var messages = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            var message = e.Message.TrimEnd('.');
            if (!messages.Any(m => m.Contains(message, StringComparison.Ordinal)))
            {
                messages.Add(message);
            }
        }
        return string.Join(": ", messages);
    }
}
