using Dapper;
using Xunit;

namespace PerazziSync.Schema.Tests;

public sealed class RowLevelSecurityTests(PortalDatabaseFixture portal) : IClassFixture<PortalDatabaseFixture>
{
    public static TheoryData<string> CheckNames() => new(RlsChecks.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(CheckNames))]
    public async Task Portal_rule_holds(string check)
    {
        await using var transaction = await portal.Connection.BeginTransactionAsync();
        await RlsChecks.All.Single(c => c.Name == check).RunAsync(new PortalSession(portal.Connection));
        await transaction.RollbackAsync();
    }

    /// <summary>
    /// Every policy and guard trigger is load-bearing: without any one of them some rule above
    /// breaks. A restrictive policy is there to hold against a lax permissive policy that a
    /// portal database may already carry, so it is removed with such a policy in place.
    /// </summary>
    [Fact]
    public async Task Removing_any_one_policy_or_guard_trigger_breaks_a_rule()
    {
        var policies = (await portal.Connection.QueryAsync<(string Table, string Policy, string Permissive)>(
            "select tablename, policyname, permissive from pg_policies where schemaname = 'public' order by 1, 2")).ToList();
        var triggers = (await portal.Connection.QueryAsync<(string Table, string Trigger)>(
            """
            select c.relname, t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
            where t.tgname like '%\_protect\_%' and not t.tgisinternal order by 1, 2
            """)).ToList();
        Assert.True(policies.Count >= 20, $"expected the portal's policies, found {policies.Count}");
        Assert.Equal(2, triggers.Count);

        var removals = policies
            .Select(p => (What: $"policy {p.Policy} on {p.Table}", Sql: p.Permissive == "PERMISSIVE"
                ? $"drop policy {p.Policy} on {p.Table}"
                : $"drop policy {p.Policy} on {p.Table}; create policy lax_existing on {p.Table} for select to anon, authenticated using (true)"))
            .Concat(triggers.Select(t => (What: $"trigger {t.Trigger} on {t.Table}", Sql: $"drop trigger {t.Trigger} on {t.Table}")));

        var unnoticed = new List<string>();
        foreach (var removal in removals)
        {
            await using var transaction = await portal.Connection.BeginTransactionAsync();
            await portal.Connection.ExecuteAsync(removal.Sql);
            var broken = await RlsChecks.FailuresAsync(portal.Connection);
            await transaction.RollbackAsync();
            if (broken.Count == 0)
            {
                unnoticed.Add(removal.What);
            }
        }
        Assert.Empty(unnoticed);
    }
}
