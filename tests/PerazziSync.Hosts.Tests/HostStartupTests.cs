using System.Net;
using PerazziSync.Testing;
using Xunit;

namespace PerazziSync.Hosts.Tests;

public sealed class HostStartupTests
{
    static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task Receiver_is_ready_once_connected_to_the_broker()
    {
        var url = HostProcess.LoopbackUrl();
        await using var receiver = HostProcess.Start("PerazziSync.Receiver", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["ConnectionStrings__RabbitMq"] = await TestServices.RabbitMqAsync(),
            ["BigCommerce__StoreHash"] = "teststore",
            ["BigCommerce__WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
            ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
        });

        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(receiver, url + "/health/ready", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(url + "/health/live")).StatusCode);
    }

    [Fact]
    public async Task Worker_is_ready_once_connected_to_database_and_broker()
    {
        await using var database = await TestDatabase.CreateMigratedAsync();
        var url = HostProcess.LoopbackUrl();
        await using var worker = HostProcess.Start("PerazziSync.Worker", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["ConnectionStrings__RabbitMq"] = await TestServices.RabbitMqAsync(),
            ["BigCommerce__StoreHash"] = "teststore",
            ["BigCommerce__AccessToken"] = "token",
            // The worker checks the store's hooks as it starts: at nothing that listens, never BigCommerce's own API.
            ["BigCommerce__ApiBaseUrl"] = "http://127.0.0.1:1",
        });

        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(worker, url + "/health/ready", HttpStatusCode.OK));
    }

    [Fact]
    public async Task Worker_is_alive_but_not_ready_while_the_database_is_unreachable()
    {
        var url = HostProcess.LoopbackUrl();
        await using var worker = HostProcess.Start("PerazziSync.Worker", new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = url,
            // Nothing listens on port 1 of loopback.
            ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=1;Username=nobody;Timeout=2",
            ["ConnectionStrings__RabbitMq"] = await TestServices.RabbitMqAsync(),
            ["BigCommerce__StoreHash"] = "teststore",
            ["BigCommerce__AccessToken"] = "token",
            // The worker checks the store's hooks as it starts: at nothing that listens, never BigCommerce's own API.
            ["BigCommerce__ApiBaseUrl"] = "http://127.0.0.1:1",
        });

        Assert.Equal(HttpStatusCode.OK, await EventuallyAsync(worker, url + "/health/live", HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.GetAsync(url + "/health/ready")).StatusCode);
    }

    [Theory]
    [InlineData("PerazziSync.Receiver", "ConnectionStrings__RabbitMq")]
    [InlineData("PerazziSync.Receiver", "BigCommerce__WebhookSecret")]
    [InlineData("PerazziSync.Receiver", "Pos__WebhookSecret")]
    [InlineData("PerazziSync.Worker", "ConnectionStrings__Postgres")]
    [InlineData("PerazziSync.Worker", "BigCommerce__AccessToken")]
    [InlineData("PerazziSync.Worker", "BigCommerce__StoreHash")]
    public async Task Host_refuses_to_start_without_a_required_setting_and_names_it(string project, string missing)
    {
        var environment = EveryRequiredSetting();
        environment.Remove(missing);
        await using var host = HostProcess.Start(project, environment);

        // Refused with a line naming the setting, not aborted with a stack trace.
        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(missing, host.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", host.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PerazziSync.Receiver", "teststore/v3/hooks?")]
    [InlineData("PerazziSync.Worker", "teststore/../other")]
    [InlineData("PerazziSync.Worker", "test%2fstore")]
    [InlineData("PerazziSync.Worker", "test store")]
    public async Task Host_refuses_a_store_hash_that_is_not_letters_and_digits_in_one_line_naming_the_setting(string project, string hash)
    {
        var environment = EveryRequiredSetting();
        environment["BigCommerce__StoreHash"] = hash;
        await using var host = HostProcess.Start(project, environment);

        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        // The host's own log has the failure too; what it says is one line, naming the setting.
        var refusal = Assert.Single(host.Output.Split('\n'), line => line.StartsWith($"{project}: cannot start: ", StringComparison.Ordinal));
        Assert.Contains("BigCommerce__StoreHash", refusal, StringComparison.Ordinal);
        Assert.Contains("letters and digits only", refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PerazziSync.Receiver", "Receiver__MaxBodyBytes", "abc")]
    [InlineData("PerazziSync.Receiver", "Tracing__SampleRatio", "ten percent")]
    [InlineData("PerazziSync.Worker", "Health__StalledAfter", "soon")]
    public async Task Host_refuses_a_value_not_of_its_settings_type_in_one_line_naming_the_setting(string project, string setting, string value)
    {
        var environment = EveryRequiredSetting();
        environment[setting] = value;
        await using var host = HostProcess.Start(project, environment);

        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var refusal = Assert.Single(host.Output.Split('\n'), line => line.StartsWith($"{project}: cannot start: ", StringComparison.Ordinal));
        Assert.Contains(setting.Replace("__", ":", StringComparison.Ordinal), refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", host.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_refuses_a_connection_string_npgsql_cannot_read_in_one_line_never_showing_the_password()
    {
        const string password = "not-for-the-log";
        var environment = EveryRequiredSetting();
        environment["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Password={password};Max Pool Size=1";
        await using var host = HostProcess.Start("PerazziSync.Worker", environment);

        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var refusal = Assert.Single(host.Output.Split('\n'), line => line.StartsWith("PerazziSync.Worker: cannot start: ", StringComparison.Ordinal));
        Assert.Contains("ConnectionStrings:Postgres is not an Npgsql connection string", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain(password, host.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PerazziSync.Receiver", "Receiver__MaxBodyBytes", "40000000", "between 1024 and 30000000")]
    [InlineData("PerazziSync.Worker", "Pos__CallbackGroupSize", "0", "between 1 and")]
    [InlineData("PerazziSync.Worker", "BigCommerce__OrderConcurrency", "5000", "between 1 and 1000")]
    public async Task Host_refuses_a_value_out_of_its_range_in_one_line_naming_the_setting(string project, string setting, string value, string range)
    {
        var environment = EveryRequiredSetting();
        environment[setting] = value;
        await using var host = HostProcess.Start(project, environment);

        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var refusal = Assert.Single(host.Output.Split('\n'), line => line.StartsWith($"{project}: cannot start: ", StringComparison.Ordinal));
        Assert.Contains($"{setting}: ", refusal, StringComparison.Ordinal);
        Assert.Contains(range, refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_refuses_an_unknown_queue_type()
    {
        var environment = EveryRequiredSetting();
        environment["Messaging__QueueType"] = "mirrored";
        await using var host = HostProcess.Start("PerazziSync.Worker", environment);

        Assert.Equal(2, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("Messaging:QueueType must be classic or quorum", host.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1.5", "Tracing:SampleRatio must be from 0 to 1")]
    [InlineData("ten percent", "Tracing:SampleRatio")]
    [InlineData("-0.1", "Tracing:SampleRatio must be from 0 to 1")]
    public async Task Receiver_refuses_a_trace_sample_ratio_that_is_not_a_share(string ratio, string message)
    {
        var environment = EveryRequiredSetting();
        environment["Tracing__SampleRatio"] = ratio;
        await using var host = HostProcess.Start("PerazziSync.Receiver", environment);

        Assert.NotEqual(0, await host.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, host.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every setting either host requires, each well-formed, pointing at nothing that listens
    /// (port 1): a host given these starts, unless a test removes or spoils one.
    /// </summary>
    static Dictionary<string, string> EveryRequiredSetting() => new()
    {
        ["ASPNETCORE_URLS"] = HostProcess.LoopbackUrl(),
        ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=1;Username=nobody",
        ["ConnectionStrings__RabbitMq"] = "amqp://guest:guest@127.0.0.1:1/",
        ["BigCommerce__StoreHash"] = "teststore",
        ["BigCommerce__AccessToken"] = "token",
        ["BigCommerce__ApiBaseUrl"] = "http://127.0.0.1:1",
        ["BigCommerce__WebhookSecret"] = WebhookSender.Base64Secret(WebhookSender.BigCommerceClientSecret),
        ["Pos__WebhookSecret"] = WebhookSender.PosSecret,
    };

    static async Task<HttpStatusCode> EventuallyAsync(HostProcess host, string url, HttpStatusCode wanted)
    {
        var last = "no answer";
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline && !host.HasExited;)
        {
            try
            {
                var response = await Http.GetAsync(url);
                if (response.StatusCode == wanted)
                {
                    return wanted;
                }
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }
            await Task.Delay(250);
        }
        throw new Xunit.Sdk.XunitException($"{url} did not answer {wanted}; last: {last}\n{host.Output}");
    }
}
