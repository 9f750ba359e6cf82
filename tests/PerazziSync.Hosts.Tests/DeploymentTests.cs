using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Hosts.Tests;

/// <summary>The deployment files agree with the code and with each other (no Docker engine needed).</summary>
public sealed partial class DeploymentTests
{
    static readonly string[] Services =
        ["postgres", "rabbitmq", "migrate", "receiver", "worker", "otel-collector", "jaeger", "prometheus", "grafana"];

    [Fact]
    public async Task Docker_compose_accepts_the_compose_file_and_it_has_every_service()
    {
        var env = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(env,
            [
                "POSTGRES_PASSWORD=p", "RABBITMQ_PASSWORD=r", "GRAFANA_ADMIN_PASSWORD=g", "BigCommerce__StoreHash=s",
                "BigCommerce__AccessToken=t", "BigCommerce__WebhookSecret=w", "Pos__WebhookSecret=x",
            ]);
            var (valid, validOutput) = await ComposeAsync("--env-file", env, "-f", Repository.PathOf("docker-compose.yml"), "config", "-q");
            Assert.True(valid == 0, validOutput);
            var (listed, services) = await ComposeAsync("--env-file", env, "-f", Repository.PathOf("docker-compose.yml"), "config", "--services");
            Assert.Equal(0, listed);
            Assert.Equal(Services.Order(), services.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order());
        }
        finally
        {
            File.Delete(env);
        }
    }

    [Fact]
    public async Task Docker_compose_takes_a_first_run_without_store_settings_and_gives_the_worker_the_drop_folder()
    {
        var env = Path.GetTempFileName();
        try
        {
            // What deploy/settings.sh writes on a first run, the store left empty.
            await File.WriteAllLinesAsync(env,
            [
                "POSTGRES_PASSWORD=p", "RABBITMQ_PASSWORD=r", "GRAFANA_ADMIN_PASSWORD=g", "BigCommerce__StoreHash=",
                "BigCommerce__AccessToken=", "BigCommerce__WebhookSecret=w", "Pos__WebhookSecret=x", "Pos__DropFolder=/srv/pos-drop",
            ]);
            var (valid, config) = await ComposeAsync("--env-file", env, "-f", Repository.PathOf("docker-compose.yml"), "config");
            Assert.True(valid == 0, config);
            Assert.Contains("/srv/pos-drop:/var/lib/perazzisync/pos-drop", config, StringComparison.Ordinal);
            Assert.Contains("Pos__DropFolder: /var/lib/perazzisync/pos-drop", config, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(env);
        }
    }

    [Fact]
    public async Task The_dockerfile_builds_with_the_repository_sdk_runs_as_non_root_and_the_readme_says_the_same()
    {
        var dockerfile = File.ReadAllText(Repository.PathOf("deploy", "Dockerfile"));
        var sdk = JsonDocument.Parse(File.ReadAllText(Repository.PathOf("global.json"))).RootElement.GetProperty("sdk").GetProperty("version").GetString()!;
        var channel = string.Join('.', sdk.Split('.').Take(2));
        Assert.Contains($"FROM mcr.microsoft.com/dotnet/sdk:{channel} AS build", dockerfile, StringComparison.Ordinal);
        Assert.Contains($"FROM mcr.microsoft.com/dotnet/aspnet:{channel}", dockerfile, StringComparison.Ordinal);
        Assert.Contains("COPY --from=build /app .", dockerfile, StringComparison.Ordinal);
        Assert.Contains("USER $APP_UID", dockerfile, StringComparison.Ordinal);

        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        Assert.Contains($"mcr.microsoft.com/dotnet/sdk:{channel}", readme, StringComparison.Ordinal);
        var compose = File.ReadAllText(Repository.PathOf("docker-compose.yml"));
        var builds = BuildArgs().Matches(compose);
        Assert.Equal(3, builds.Count);

        // The build stage as Docker runs it, without an engine: only what it copies, in a
        // directory of its own, and its RUN command with the ARG set, on the SDK global.json
        // picks; the image's /app is a directory of the test's.
        var (copies, run) = BuildStage(dockerfile);
        var context = Directory.CreateTempSubdirectory("perazzi-image-");
        try
        {
            foreach (var (sources, destination) in copies)
            {
                foreach (var source in sources)
                {
                    Copy(Repository.PathOf(source.TrimEnd('/')), Path.Combine(context.FullName, destination));
                }
            }
            foreach (Match build in builds)
            {
                var project = build.Groups["project"].Value;
                var csproj = Repository.PathOf("src", project, project + ".csproj");
                Assert.True(File.Exists(csproj), $"compose builds {project}, which is not src/{project}/{project}.csproj");
                var assemblyName = AssemblyName().Match(File.ReadAllText(csproj)) is { Success: true } named ? named.Groups[1].Value : project;
                Assert.Equal(assemblyName, build.Groups["assembly"].Value);
                Assert.Contains($"--build-arg PROJECT={project}", readme, StringComparison.Ordinal);

                var app = Path.Combine(context.FullName, "app-" + project);
                var (exitCode, output) = await RunAsync(context.FullName, run.Replace(" /app", " " + app, StringComparison.Ordinal), ("PROJECT", project));
                Assert.True(exitCode == 0, $"the build stage of {project} failed:\n{output}");
                Assert.True(File.Exists(Path.Combine(app, assemblyName + ".dll")), $"the build of {project} left no {assemblyName}.dll in /app:\n{output}");
            }
        }
        finally
        {
            context.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_build_context_leaves_out_the_secrets_and_local_data_and_keeps_everything_the_dockerfile_copies()
    {
        var ignored = File.ReadAllLines(Repository.PathOf(".dockerignore"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.TrimEnd('/'))
            .ToList();
        // Compose builds from the repository root, so without these the context would carry the
        // secrets run.sh writes and the local PostgreSQL and RabbitMQ data.
        Assert.Contains(".env", ignored);
        Assert.Contains(".local", ignored);
        var (copies, _) = BuildStage(File.ReadAllText(Repository.PathOf("deploy", "Dockerfile")));
        foreach (var source in copies.SelectMany(c => c.Sources).Select(s => s.TrimEnd('/')))
        {
            Assert.DoesNotContain(ignored, pattern => source == pattern || source.StartsWith(pattern + "/", StringComparison.Ordinal));
        }
    }

    /// <summary>The build stage's COPY instructions (sources, destination) and its one RUN command, which must publish to /app.</summary>
    static (List<(string[] Sources, string Destination)> Copies, string Run) BuildStage(string dockerfile)
    {
        var stage = dockerfile.Split('\n').Select(line => line.Trim())
            .SkipWhile(line => !line.StartsWith("FROM ", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(line => !line.StartsWith("FROM ", StringComparison.Ordinal))
            .ToList();
        Assert.Contains("WORKDIR /src", stage);
        var copies = stage.Where(line => line.StartsWith("COPY ", StringComparison.Ordinal))
            .Select(line => line["COPY ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(words => (words[..^1], words[^1]))
            .ToList();
        var run = Assert.Single(stage, line => line.StartsWith("RUN ", StringComparison.Ordinal))["RUN ".Length..];
        Assert.Contains(" -o /app", run, StringComparison.Ordinal);
        return (copies, run);
    }

    /// <summary>As COPY does: a file into the destination directory, a directory's contents into it.</summary>
    static void Copy(string source, string destination)
    {
        Directory.CreateDirectory(destination);
        if (File.Exists(source))
        {
            File.Copy(source, Path.Combine(destination, Path.GetFileName(source)));
            return;
        }
        Assert.True(Directory.Exists(source), $"the Dockerfile copies {source}, which is not in the repository");
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(destination, Path.GetRelativePath(source, directory)));
        }
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(destination, Path.GetRelativePath(source, file)));
        }
    }

    /// <summary>A shell-form RUN: <c>/bin/sh -c</c> in the working directory, the build arguments in the environment.</summary>
    static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, string command, params (string Name, string Value)[] arguments)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (name, value) in arguments)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(patience.Token);
        return (process.ExitCode, await output + await error);
    }

    [Fact]
    public async Task The_first_runs_settings_keep_env_private_and_leave_the_callers_umask_alone()
    {
        // deploy/run.sh and deploy/cli.sh source settings.sh, then create .local/ (the services'
        // state, which PostgreSQL's own user must reach when run.sh runs as root) and the drop
        // folder: a umask of 077 leaking from the first run's .env would close them to it.
        await InSettingsCheckoutAsync(async checkout =>
        {
            var (exitCode, output) = await RunAsync(checkout,
                "exec bash -c 'umask 022; . deploy/settings.sh 2>/dev/null; umask; stat -c %a .env \"$Pos__DropFolder\"'");
            Assert.True(exitCode == 0, output);
            Assert.Equal(["0022", "600", "755"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        });
    }

    [Fact]
    public async Task The_first_runs_drop_folder_is_with_the_local_state_where_perazzi_state_dir_moves_it()
    {
        await InSettingsCheckoutAsync(async checkout =>
        {
            var state = Path.Combine(checkout, "elsewhere");
            var (exitCode, output) = await RunAsync(checkout,
                "exec bash -c '. deploy/settings.sh 2>/dev/null; echo \"$Pos__DropFolder\"'", ("PERAZZI_STATE_DIR", state));
            Assert.True(exitCode == 0, output);
            Assert.Equal(Path.Combine(state, "pos-drop"), output.Trim());
            Assert.True(Directory.Exists(Path.Combine(state, "pos-drop")));
        });
    }

    /// <summary>Runs <paramref name="test"/> in a checkout holding only deploy/settings.sh, as before a first run.</summary>
    static async Task InSettingsCheckoutAsync(Func<string, Task> test)
    {
        var checkout = Directory.CreateTempSubdirectory("perazzi-settings-");
        try
        {
            Copy(Repository.PathOf("deploy", "settings.sh"), Path.Combine(checkout.FullName, "deploy"));
            await test(checkout.FullName);
        }
        finally
        {
            checkout.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Settings_in_env_and_the_first_runs_addresses_reach_every_later_shell()
    {
        await InSettingsCheckoutAsync(async checkout =>
        {
            var (first, firstOutput) = await RunAsync(checkout,
                "exec bash -c '. deploy/settings.sh 2>/dev/null'", ("RECEIVER_URLS", "http://127.0.0.1:9180"), ("WORKER_URLS", "http://127.0.0.1:9181"));
            Assert.True(first == 0, firstOutput);
            File.AppendAllLines(Path.Combine(checkout, ".env"),
                ["Messaging__QueueType=quorum", "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "ConnectionStrings__Postgres=Host=elsewhere"]);

            var (later, output) = await RunAsync(checkout,
                "exec env -u RECEIVER_URLS -u WORKER_URLS -u Messaging__QueueType -u OTEL_EXPORTER_OTLP_ENDPOINT -u ConnectionStrings__Postgres bash -c "
                + "'. deploy/settings.sh 2>/dev/null; printf \"%s\\n\" \"$RECEIVER_URLS\" \"$WORKER_URLS\" \"$Messaging__QueueType\" \"$OTEL_EXPORTER_OTLP_ENDPOINT\" \"[${ConnectionStrings__Postgres:-}]\"'");

            Assert.True(later == 0, output);
            Assert.Equal(
                ["http://127.0.0.1:9180", "http://127.0.0.1:9181", "quorum", "http://127.0.0.1:4318", "[]"],
                output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        });
    }

    [Fact]
    public async Task The_local_services_listen_on_loopback_only_the_erlang_distribution_port_too()
    {
        // deploy/services.sh says it binds PostgreSQL and RabbitMQ to 127.0.0.1 only; RabbitMQ's
        // node also listens on PERAZZI_RABBIT_DIST_PORT for other Erlang nodes, and the cookie
        // alone guarded that one on every interface.
        var state = Directory.CreateTempSubdirectory("perazzi-services-");
        // Reachable by the postgres user, as a checkout is, so that PostgreSQL's data stays in it.
        Assert.Equal(0, (await RunAsync(state.FullName, "chmod 755 .")).ExitCode);
        var ports = Enumerable.Range(0, 4).Select(_ => LoopbackPort.Reserve()).ToArray();
        (string, string)[] environment =
        [
            ("PERAZZI_STATE_DIR", state.FullName), ("PERAZZI_PG_PORT", $"{ports[0]}"), ("PERAZZI_AMQP_PORT", $"{ports[1]}"),
            ("PERAZZI_RABBIT_MGMT_PORT", $"{ports[2]}"), ("PERAZZI_RABBIT_DIST_PORT", $"{ports[3]}"),
        ];
        try
        {
            var (started, output) = await RunAsync(Repository.PathOf("."), "deploy/services.sh start", environment);
            Assert.True(started == 0, output);
            var listeners = Listeners();
            foreach (var port in ports)
            {
                Assert.True(listeners.Any(l => l.Port == port), $"nothing listens on port {port}:\n{output}");
                Assert.All(listeners.Where(l => l.Port == port), l => Assert.True(l.Loopback, $"port {port} listens on {l.Address}"));
            }

            // A later shell without the port variables (deploy/cli.sh, a stop) reaches the same servers.
            (string, string)[] unmoved = [("PERAZZI_STATE_DIR", state.FullName), .. environment[1..].Select(e => (e.Item1, ""))];
            var (again, exports) = await RunAsync(Repository.PathOf("."), "deploy/services.sh start 2>/dev/null", unmoved);
            Assert.True(again == 0, exports);
            Assert.Contains($"Port={ports[0]};", exports, StringComparison.Ordinal);
            Assert.Contains($"@127.0.0.1:{ports[1]}/", exports, StringComparison.Ordinal);
            Assert.Contains($"http://127.0.0.1:{ports[2]}/", exports, StringComparison.Ordinal);
            var (stopped, stopOutput) = await RunAsync(Repository.PathOf("."), "deploy/services.sh stop", unmoved);
            Assert.True(stopped == 0, stopOutput);
            var stillListening = ports.Where(port => Listeners().Any(l => l.Port == port)).ToList();
            Assert.True(stillListening.Count == 0, $"still listening on {string.Join(", ", stillListening)} after the stop:\n{stopOutput}");
        }
        finally
        {
            await RunAsync(Repository.PathOf("."), "deploy/services.sh stop", environment);
            state.Delete(recursive: true);
        }
    }

    static readonly string[] ProcNetTcp = ["/proc/net/tcp", "/proc/net/tcp6"];

    /// <summary>The machine's listening TCP sockets (/proc/net/tcp and tcp6): port, address as the kernel writes it, and whether it is loopback.</summary>
    static List<(int Port, string Address, bool Loopback)> Listeners() =>
        ProcNetTcp
            .Where(File.Exists)
            .SelectMany(file => File.ReadAllLines(file).Skip(1))
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields[3] == "0A")
            .Select(fields => fields[1].Split(':'))
            .Select(local => (
                Convert.ToInt32(local[1], 16),
                local[0],
                local[0] is "0100007F" or "00000000000000000000000001000000"))
            .ToList();

    [Fact]
    public void Every_metric_on_the_grafana_dashboard_is_one_the_product_emits()
    {
        var dashboard = File.ReadAllText(Repository.PathOf("deploy", "observability", "grafana", "dashboards", "perazzisync.json"));
        var instruments = Directory.EnumerateFiles(Repository.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => InstrumentName().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value.Replace('.', '_')))
            .ToHashSet();
        var queried = DashboardMetric().Matches(dashboard).Select(m => m.Value).Distinct().ToList();

        Assert.NotEmpty(queried);
        foreach (var metric in queried)
        {
            var instrument = Suffix().Replace(metric, "");
            Assert.True(instruments.Contains(instrument), $"{metric} is on the dashboard, but no instrument {instrument} is in src/");
        }
        Assert.All(JsonDocument.Parse(dashboard).RootElement.GetProperty("panels").EnumerateArray(),
            panel => Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("uid").GetString()));
    }

    static async Task<(int ExitCode, string Output)> ComposeAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException(
                "docker-compose is not installed: install Debian's docker-compose package (deploy/test.sh does), which validates compose files without a Docker engine.");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await output + await error);
        }
    }

    [GeneratedRegex(@"args: \{ PROJECT: (?<project>[\w.]+), ASSEMBLY: (?<assembly>[\w.]+) \}")]
    private static partial Regex BuildArgs();

    [GeneratedRegex(@"<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyName();

    [GeneratedRegex(@"Create(?:Counter|Histogram|UpDownCounter|Gauge)<\w+>\(\s*""(perazzisync\.[a-z_.]+)""")]
    private static partial Regex InstrumentName();

    [GeneratedRegex(@"perazzisync_[a-z_]+")]
    private static partial Regex DashboardMetric();

    [GeneratedRegex(@"(_seconds)?(_total|_bucket|_count|_sum)?$")]
    private static partial Regex Suffix();
}
