using Npgsql;
using PerazziSync.Data;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Which database faults are retried rather than given up (dead-lettered, or counted against a file).</summary>
public sealed class DatabaseFaultTests
{
    static PostgresException Fault(string sqlState, string severity = "ERROR") => new("a fault", severity, severity, sqlState);

    [Theory]
    [InlineData("25P03")] // idle_in_transaction_session_timeout ended the session
    [InlineData("57P05")] // idle_session_timeout ended it
    [InlineData("40001")] // serialization failure
    [InlineData("40P01")] // deadlock
    [InlineData("57P01")] // administrator shutdown
    public void A_fault_that_goes_away_by_itself_is_transient(string sqlState) =>
        Assert.True(DatabaseFaults.IsTransient(Fault(sqlState, "FATAL")));

    [Theory]
    [InlineData("23505")] // unique violation
    [InlineData("22P05")] // untranslatable character
    [InlineData("42501")] // insufficient privilege
    public void A_fault_of_the_data_or_the_rights_is_not(string sqlState) =>
        Assert.False(DatabaseFaults.IsTransient(Fault(sqlState)));

    [Fact]
    public void A_foreign_key_violation_is_a_concurrent_delete_tried_again_a_few_times_not_for_ever()
    {
        Assert.True(DatabaseFaults.IsConcurrentDelete(Fault("23503")));
        Assert.False(DatabaseFaults.IsTransient(Fault("23503")));
        Assert.False(DatabaseFaults.IsConcurrentDelete(Fault("23505")));
    }

    [Fact]
    public void Only_the_idle_timeouts_are_idle_timeouts()
    {
        Assert.True(DatabaseFaults.IsIdleTimeout(Fault("25P03", "FATAL")));
        Assert.True(DatabaseFaults.IsIdleTimeout(Fault("57P05", "FATAL")));
        Assert.False(DatabaseFaults.IsIdleTimeout(Fault("57P01", "FATAL")));
        Assert.False(DatabaseFaults.IsIdleTimeout(new TimeoutException()));
    }
}
