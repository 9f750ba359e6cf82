using System.Text.Json;
using Dapper;
using Npgsql;

namespace PerazziSync.Testing;

/// <summary>The portal users and assets of <c>fixtures/portal/users-and-assets.json</c>.</summary>
public static class PortalUsers
{
    public static readonly Guid Jane = Guid.Parse("6f1c2a8e-1d4b-4c1e-9a51-3b7f0c2d9e01");
    public static readonly Guid Marco = Guid.Parse("a3d9b7c4-55e2-4f0a-8c6d-0e1f2a3b4c02");
    public static readonly Guid Support = Guid.Parse("c0ffee00-0000-4000-8000-000000000003");
    public static readonly Guid Admin = Guid.Parse("ad000000-0000-4000-8000-000000000004");
    public static readonly Guid Unconfirmed = Guid.Parse("0dd00000-0000-4000-8000-000000000005");

    public static JsonDocument Fixture() => JsonDocument.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "fixtures", "portal", "users-and-assets.json")));

    /// <summary>Each user in auth.users (confirmed or not, as the fixture says) with a profile.</summary>
    public static async Task SeedAsync(NpgsqlConnection connection)
    {
        using var json = Fixture();
        foreach (var user in json.RootElement.GetProperty("users").EnumerateArray())
        {
            await connection.ExecuteAsync(
                """
                insert into auth.users (id, email, email_confirmed_at)
                values (@id, @email, case when @confirmed then now() end);
                insert into profiles (id, email, display_name, role)
                values (@id, @email, @displayName, @role);
                """,
                new
                {
                    id = user.GetProperty("id").GetGuid(),
                    email = user.GetProperty("email").GetString(),
                    confirmed = user.GetProperty("email_confirmed").GetBoolean(),
                    displayName = user.GetProperty("display_name").GetString(),
                    role = user.GetProperty("role").GetString(),
                });
        }
    }

    /// <summary>Each asset of the fixture, owned by its user, verified or not as the fixture says.</summary>
    public static async Task SeedAssetsAsync(NpgsqlConnection connection)
    {
        using var json = Fixture();
        foreach (var asset in json.RootElement.GetProperty("assets").EnumerateArray())
        {
            await connection.ExecuteAsync(
                """
                insert into perazzi_assets (owner_user_id, serial_number, model, platform, verification_status, verification_method)
                select u.id, @serial, @model, @platform, @status, @method
                from auth.users u where u.email = @ownerEmail
                """,
                new
                {
                    ownerEmail = asset.GetProperty("owner_email").GetString(),
                    serial = asset.GetProperty("serial_number").GetString(),
                    model = asset.GetProperty("model").GetString(),
                    platform = asset.GetProperty("platform").GetString(),
                    status = asset.GetProperty("verification_status").GetString(),
                    method = asset.TryGetProperty("verification_method", out var method) ? method.GetString() : null,
                });
        }
    }
}
