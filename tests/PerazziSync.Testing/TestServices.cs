using DotNet.Testcontainers.Builders;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace PerazziSync.Testing;

/// <summary>
/// The PostgreSQL server and RabbitMQ broker every test talks to: the ones named by
/// <c>ConnectionStrings__Postgres</c> / <c>ConnectionStrings__RabbitMq</c> when set (CI and
/// <c>deploy/test.sh</c> set them), otherwise containers started through a Docker engine.
/// With neither, tests fail saying what to start; they never skip.
/// </summary>
public static class TestServices
{
    const string PostgresVariable = "ConnectionStrings__Postgres";
    const string RabbitMqVariable = "ConnectionStrings__RabbitMq";

    static string WhatToStart(string variable) =>
        "Start them with `eval \"$(deploy/services.sh start)\"` (or run `deploy/test.sh`, which does), " +
        $"or set {variable} yourself, or start a Docker engine so Testcontainers can run them.";

    static readonly Lazy<Task<string>> PostgresServer = new(StartPostgresAsync);
    const string ManagementVariable = "PERAZZI_RABBIT_MGMT_URL";

    static readonly Lazy<Task<(string Amqp, string Management)>> RabbitMqBroker = new(StartRabbitMqAsync);

    /// <summary>Connection string of the server (its maintenance database).</summary>
    public static Task<string> PostgresAsync() => PostgresServer.Value;

    /// <summary>AMQP URI of the broker (its default virtual host).</summary>
    public static async Task<string> RabbitMqAsync() => (await RabbitMqBroker.Value).Amqp;

    /// <summary>Root URL of the broker's management API, for creating virtual hosts.</summary>
    public static async Task<string> RabbitMqManagementAsync() => (await RabbitMqBroker.Value).Management;

    static async Task<string> StartPostgresAsync()
    {
        var configured = Environment.GetEnvironmentVariable(PostgresVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            await EnsureReachableAsync(configured);
            return configured;
        }
        var container = await StartContainerAsync(
            () => new PostgreSqlBuilder("pgvector/pgvector:pg15").Build(), "PostgreSQL", PostgresVariable);
        return container.GetConnectionString();
    }

    static async Task<(string, string)> StartRabbitMqAsync()
    {
        var configured = Environment.GetEnvironmentVariable(RabbitMqVariable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var management = Environment.GetEnvironmentVariable(ManagementVariable);
            if (string.IsNullOrWhiteSpace(management))
            {
                throw new InvalidOperationException(
                    $"{RabbitMqVariable} is set but {ManagementVariable} (the broker's management API, e.g. http://127.0.0.1:15672/) is not. " +
                    WhatToStart(ManagementVariable));
            }
            return (configured, management);
        }
        var container = await StartContainerAsync(
            () => new RabbitMqBuilder("rabbitmq:3.13-management").WithPortBinding(15672, true).Build(), "RabbitMQ", RabbitMqVariable);
        return (container.GetConnectionString(), $"http://{container.Hostname}:{container.GetMappedPublicPort(15672)}/");
    }

    static async Task<T> StartContainerAsync<T>(Func<T> build, string what, string variable)
        where T : DotNet.Testcontainers.Containers.IContainer
    {
        T container;
        try
        {
            container = build();
            await container.StartAsync();
        }
        catch (DockerUnavailableException e)
        {
            throw new InvalidOperationException(
                $"No {what} for the tests: {variable} is not set and no Docker engine is reachable. " +
                WhatToStart(variable), e);
        }
        return container;
    }

    static async Task EnsureReachableAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException)
        {
            throw new InvalidOperationException(
                $"{PostgresVariable} is set but PostgreSQL does not answer there ({e.Message}). " +
                WhatToStart(PostgresVariable), e);
        }
    }
}
