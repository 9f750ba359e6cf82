using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Schema.Tests;

/// <summary>
/// Which API role may execute which function, in both database flavours: Supabase grants every new
/// function in <c>public</c> to the API roles by default privileges, and PostgreSQL grants every new
/// function to <c>PUBLIC</c>, so a migration that creates a function without revoking those grants
/// hands it to <c>anon</c> (and to the portal's API, as a remote procedure).
/// </summary>
public sealed class FunctionPrivilegeTests
{
    /// <summary>
    /// Every function in every schema (trigger functions, helpers and functions of schemas the role
    /// cannot name included: a policy or a view calls a function without naming its schema), but
    /// PostgreSQL's own and those of extensions, that an API role may execute, and whether it runs
    /// as its owner: only what is listed here.
    /// </summary>
    [Theory]
    [InlineData(DatabaseFlavour.Supabase)]
    [InlineData(DatabaseFlavour.Plain)]
    public async Task Only_the_functions_meant_for_an_api_role_are_executable_by_it(DatabaseFlavour flavour)
    {
        await using var database = await TestDatabase.CreateMigratedAsync(flavour);
        await using var connection = await database.OpenAsync();

        var executable = (await connection.QueryAsync<string>(
            """
            select r.rolname || ' ' || p.oid::regprocedure::text || case when p.prosecdef then ' (security definer)' else '' end
            from pg_proc p
            cross join (values ('anon'), ('authenticated'), ('service_role')) r(rolname)
            where p.pronamespace not in ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
              and not exists (
                select from pg_depend d
                where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
              and has_function_privilege(r.rolname, p.oid, 'execute')
            order by 1
            """)).ToList();

        Assert.Equal(
        [
            "anon auth.uid()",
            "anon is_admin() (security definer)",
            "authenticated asset_has_workshop_history(uuid) (security definer)",
            "authenticated auth.uid()",
            "authenticated is_admin() (security definer)",
            "authenticated support_list_conversations(uuid) (security definer)",
            "authenticated support_read_conversation(uuid) (security definer)",
            "authenticated support_request_access(uuid) (security definer)",
            "service_role auth.uid()",
            "service_role is_admin() (security definer)",
            "service_role perazzi_sync.claimant_email_verdicts(uuid[],text[]) (security definer)",
            "service_role perazzi_sync.confirmed_portal_user(text) (security definer)",
            "service_role perazzi_sync.park(text,text,text,text,jsonb,text,timestamp with time zone,text)",
            "service_role perazzi_sync.resolve_parked(text,text,timestamp with time zone,text)",
        ], executable);
    }
}
