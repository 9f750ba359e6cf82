using System.CommandLine;
using PerazziSync.Cli;

var root = new RootCommand("PerazziSync operations: database migrations and, in later releases, dead letters, POS imports and parked events.")
{
    MigrateCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
