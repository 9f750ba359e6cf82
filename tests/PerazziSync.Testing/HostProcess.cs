using System.Diagnostics;
using System.Text;

namespace PerazziSync.Testing;

/// <summary>One of the product's programs, started from its build output as a user would run it.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    readonly Process _process;
    readonly StringBuilder _output = new();
    readonly Task _terminalOutput = Task.CompletedTask;
    bool _disposed;

    HostProcess(Process process, bool atTerminal = false)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginErrorReadLine();
        if (atTerminal)
        {
            // A question at a terminal waits for its answer on the same line: read what comes, not lines.
            _terminalOutput = Task.Run(() => CopyAsync(process.StandardOutput));
        }
        else
        {
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
        }
    }

    public string Output
    {
        get { lock (_output) { return _output.ToString(); } }
    }

    public bool HasExited => _disposed || _process.HasExited;

    public int Id => _process.Id;

    /// <summary>
    /// Starts <paramref name="project"/> with exactly the settings given: of the test's own
    /// environment only what a process needs to run (<see cref="IsNeededToRun"/>) is passed on.
    /// </summary>
    public static HostProcess Start(string project, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(EntryAssembly(project));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        KeepOnly(start, environment);
        return new HostProcess(Process.Start(start)!);
    }

    /// <summary>
    /// Starts <paramref name="project"/> at a pseudo-terminal (util-linux <c>script</c>), as an
    /// operator types it at a shell, for verbs that ask before they act; <see cref="TypeAsync"/>
    /// answers. As with <see cref="Start"/>, of the test's environment only what a process needs to
    /// run is kept, then the settings given: none of the CI variables by which a console library
    /// decides that it writes to a build log, not to a person.
    /// </summary>
    public static HostProcess StartAtTerminal(string project, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("script")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var command = string.Join(' ', new[] { "dotnet", EntryAssembly(project) }.Concat(arguments).Select(ShellQuoted));
        foreach (var argument in new[] { "--quiet", "--flush", "--return", "--command", command, "/dev/null" })
        {
            start.ArgumentList.Add(argument);
        }
        KeepOnly(start, new Dictionary<string, string>(environment) { ["TERM"] = "xterm" });
        return new HostProcess(Process.Start(start)!, atTerminal: true);
    }

    /// <summary>Types <paramref name="keys"/> at the terminal of a process from <see cref="StartAtTerminal"/>.</summary>
    public async Task TypeAsync(string keys)
    {
        await _process.StandardInput.WriteAsync(keys);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Runs a command-line verb to its end.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string project, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        await using var host = Start(project, environment, arguments);
        var exitCode = await host.WaitForExitAsync(TimeSpan.FromMinutes(2));
        return (exitCode, host.Output);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"waited {timeout} for the process to exit; it is still running. Its output:\n{Output}");
        }
        // The parameterless wait also lets the redirected output drain.
        _process.WaitForExit();
        await _terminalOutput;
        return _process.ExitCode;
    }

    /// <summary>An address for a host to serve on; see <see cref="LoopbackPort"/>.</summary>
    public static string LoopbackUrl() => $"http://127.0.0.1:{LoopbackPort.Reserve()}";

    /// <summary>Asks the process to stop, as `kill -TERM` or an orchestrator would, and waits for it to exit.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }
        return await WaitForExitAsync(timeout);
    }

    /// <summary>Kills the process (and its children) as a crash or `kill -9` would; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    async Task CopyAsync(StreamReader output)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await output.ReadAsync(buffer)) > 0)
        {
            lock (_output)
            {
                _output.Append(buffer, 0, read);
            }
        }
    }

    void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    static string ShellQuoted(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The process's environment: <paramref name="settings"/> over what it needs to run, nothing else.</summary>
    static void KeepOnly(ProcessStartInfo start, IReadOnlyDictionary<string, string> settings)
    {
        foreach (var key in start.Environment.Keys.Where(k => !IsNeededToRun(k)).ToList())
        {
            start.Environment.Remove(key);
        }
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }
    }

    /// <summary>
    /// Where programs, the home directory and temporary files are, who the user is, the locale, and
    /// where the .NET runtime and the NuGet packages are. Not kept: anything the product reads as
    /// configuration (its sections, <c>Messaging__*</c>, <c>Logging__*</c>, <c>OTEL_*</c>, every
    /// <c>ASPNETCORE_*</c>, and the <c>DOTNET_*</c> variables a host reads as settings, such as
    /// <c>DOTNET_ENVIRONMENT</c>), so a test controls every setting that changes behaviour. Kept too:
    /// <c>DOTNET_PerfMapEnabled</c> and <c>DOTNET_EnableWriteXorExecute</c>, which let <c>perf</c>
    /// name a host's .NET frames when a benchmark is profiled.
    /// </summary>
    static bool IsNeededToRun(string key) =>
        key is "PATH" or "HOME" or "USER" or "LOGNAME" or "LANG" or "LANGUAGE" or "TMPDIR" or "NUGET_PACKAGES"
        || key.StartsWith("LC_", StringComparison.Ordinal)
        || key.StartsWith("DOTNET_ROOT", StringComparison.Ordinal)
        || key.StartsWith("DOTNET_CLI_", StringComparison.Ordinal)
        || key is "DOTNET_PerfMapEnabled" or "DOTNET_EnableWriteXorExecute";

    static string EntryAssembly(string project)
    {
        // This test assembly sits in tests/<project>/bin/<Configuration>/<tfm>/; the hosts sit
        // in src/<project>/bin/<Configuration>/<tfm>/.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var repository = testOutput.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var assembly = project == "PerazziSync.Cli" ? "perazzisync" : project;
        var path = Path.Combine(repository, "src", project, "bin", configuration, framework, assembly + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built at {path}");
    }
}
