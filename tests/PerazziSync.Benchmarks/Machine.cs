using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;
using PerazziSync.Testing;
using RabbitMQ.Client;

namespace PerazziSync.Benchmarks;

/// <summary>What the figures were measured on, read from the machine and the servers, never typed in.</summary>
sealed record Machine(
    string Cpu, int Cores, string Memory, string OperatingSystem, string DotNet, string PostgreSql, string RabbitMq, string Commit, string LoadAverage)
{
    public static async Task<Machine> ReadAsync()
    {
        var cpuinfo = Read("/proc/cpuinfo");
        var cpu = Field(cpuinfo, "model name", ':') ?? RuntimeInformation.ProcessArchitecture.ToString();
        // The kernel flags a CPU seen through a hypervisor; its cores may be shared with other guests.
        if (Field(cpuinfo, "flags", ':') is { } flags && flags.Split(' ').Contains("hypervisor"))
        {
            cpu += ", virtual machine";
        }
        var memory = Field(Read("/proc/meminfo"), "MemTotal", ':') is { } total
            ? string.Create(CultureInfo.InvariantCulture, $"{long.Parse(total.Split(' ')[0], CultureInfo.InvariantCulture) / 1048576.0:N1} GiB")
            : "unknown";
        var os = Field(Read("/etc/os-release"), "PRETTY_NAME", '=')?.Trim('"') ?? RuntimeInformation.OSDescription;
        var kernel = Read("/proc/sys/kernel/osrelease").Trim();
        return new Machine(
            cpu,
            Environment.ProcessorCount,
            memory,
            kernel.Length > 0 ? $"{os}, Linux {kernel}" : os,
            RuntimeInformation.FrameworkDescription,
            await PostgreSqlAsync(),
            await RabbitMqAsync(),
            await CommitAsync(),
            Read("/proc/loadavg").Split(' ') is [var one, var five, var fifteen, ..] ? $"{one} / {five} / {fifteen}" : "unknown");
    }

    static async Task<string> PostgreSqlAsync()
    {
        var server = await TestServices.PostgresAsync();
        await using var connection = new NpgsqlConnection(server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("show server_version", connection);
        var databases = TestDatabase.DefaultFlavour == DatabaseFlavour.Supabase
            ? "databases prepared as Supabase prepares them, the product connected as a non-superuser"
            : "plain databases, the product connected as the superuser";
        return $"PostgreSQL {await command.ExecuteScalarAsync()} at {new NpgsqlConnectionStringBuilder(server).Host}, {databases}";
    }

    static async Task<string> RabbitMqAsync()
    {
        var broker = new Uri(await TestServices.RabbitMqAsync());
        await using var connection = await new ConnectionFactory { Uri = broker }.CreateConnectionAsync();
        string Property(string name) =>
            connection.ServerProperties?.TryGetValue(name, out var value) == true && value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : "?";
        return $"RabbitMQ {Property("version")} ({Property("platform")}) at {broker.Host}";
    }

    /// <summary>
    /// The commit measured, marked when the checkout differs from it. The report's own files
    /// are left out: a second run before committing the first one's figures measures the same code.
    /// </summary>
    static async Task<string> CommitAsync()
    {
        var commit = await GitAsync("rev-parse", "--short=12", "HEAD");
        if (commit.Length == 0)
        {
            return "unknown (not a git checkout)";
        }
        var changes = await GitAsync("status", "--porcelain", "--", ".", $":!{Report.DocumentPath}", ":!README.md");
        return changes.Length == 0 ? commit : $"{commit} with uncommitted changes";
    }

    static async Task<string> GitAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Repository.Root };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var git = Process.Start(start)!;
            var output = await git.StandardOutput.ReadToEndAsync();
            await git.WaitForExitAsync();
            return git.ExitCode == 0 ? output.Trim() : "";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git on this machine.
            return "";
        }
    }

    static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "";

    /// <summary>The first <c>name: value</c> (or <c>name=value</c>) line's value.</summary>
    static string? Field(string text, string name, char separator) =>
        text.Split('\n')
            .Select(line => line.Split(separator, 2))
            .FirstOrDefault(parts => parts.Length == 2 && parts[0].Trim() == name)?[1].Trim();
}
