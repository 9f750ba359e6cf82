using System.CommandLine;
using DbUp.Engine.Output;
using PerazziSync.Data;

namespace PerazziSync.Cli;

static class MigrateCommand
{
    public static Command Create()
    {
        var command = new Command("migrate",
            "Apply the schema scripts the database has not seen yet (ConnectionStrings__Postgres). Safe to run again.");
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var connectionString = CliConfiguration.Load().RequirePostgres(error);
            if (connectionString is null)
            {
                return 2;
            }

            var outcome = await SchemaMigrator.MigrateAsync(connectionString, new WriterLog(output, error), cancellationToken);
            if (!outcome.Succeeded)
            {
                error.WriteLine($"Migration failed: {outcome.Error}");
                return 1;
            }
            output.WriteLine(outcome.Applied.Count == 0
                ? "Database is up to date; nothing to apply."
                : $"Applied {outcome.Applied.Count} script(s).");
            return 0;
        });
        return command;
    }

    /// <summary>DbUp's progress lines, to the command's own writers.</summary>
    sealed class WriterLog(TextWriter output, TextWriter error) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) { }
        public void LogDebug(string format, params object[] args) { }
        public void LogInformation(string format, params object[] args) => output.WriteLine(format, args);
        public void LogWarning(string format, params object[] args) => error.WriteLine(format, args);
        public void LogError(string format, params object[] args) => error.WriteLine(format, args);
        public void LogError(Exception ex, string format, params object[] args) => error.WriteLine(format, args);
    }
}
