using Dapper;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Operations.Tests;

/// <summary>
/// Text from people the operators do not control reaches their terminal shown, not obeyed: a
/// portal user's name with escape sequences that would erase a line and print "VERIFIED" in green
/// over it, and an export file whose name carries one, through the Cli's tables and its plain lines.
/// </summary>
public sealed class TerminalOutputTests
{
    const string Forged = "Evil\u001b[2K\u001b[1A\u001b[32mVERIFIED\u001b[0m\u202e";

    [Fact]
    public async Task Control_characters_from_users_are_printed_as_their_codes_in_tables_and_plain_lines()
    {
        await using var database = await TestDatabase.CreatePortalAsync();
        await using (var connection = await database.OpenAsync())
        {
            await connection.ExecuteAsync("""
                insert into auth.users (id, email, email_confirmed_at) values (@id, 'forger@example.com', now());
                insert into profiles (id, email, display_name) values (@id, 'forger@example.com', @Forged);
                insert into perazzi_assets (owner_user_id, serial_number) values (@id, 'ESC-0001');
                insert into perazzi_sync.asset_claims (asset_id, serial_number, claimant_user_id, status, reason)
                select id, serial_number, owner_user_id, 'open', 'email_mismatch' from perazzi_assets where serial_number = 'ESC-0001';
                """, new { id = Guid.NewGuid(), Forged });
        }
        var settings = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = database.ConnectionString };
        var folder = Directory.CreateTempSubdirectory("perazzi-terminal-");
        try
        {
            var review = await HostProcess.RunAsync("PerazziSync.Cli", settings, "assets", "review");
            var export = Path.Combine(folder.FullName, "export\u001b[2K.csv");
            await File.WriteAllTextAsync(export, "");
            var import = await HostProcess.RunAsync("PerazziSync.Cli", settings, "pos", "import", export);

            Assert.True(review.ExitCode == 0, review.Output);
            Assert.Contains(@"Evil\u001B[2K\u001B[1A\u001B[32mVERIFIED\u001B[0m\u202E", review.Output, StringComparison.Ordinal);
            Assert.True(import.ExitCode == 1, import.Output);
            Assert.Contains(@"export\u001B[2K.csv: the CSV file is empty", import.Output, StringComparison.Ordinal);
            foreach (var output in new[] { review.Output, import.Output })
            {
                Assert.DoesNotContain('\u001b', output);
                Assert.DoesNotContain('\u202e', output);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
