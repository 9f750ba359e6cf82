using Microsoft.Extensions.Diagnostics.HealthChecks;
using PerazziSync.ServiceDefaults;
using Xunit;

namespace PerazziSync.Rules.Tests;

/// <summary>Every check of <c>/health/ready</c> answers in its time, even one stuck on something that ignores cancellation.</summary>
public sealed class AnswerWithinTests
{
    /// <summary>A check that answers what it is given, when it is given it, whatever its cancellation token says.</summary>
    sealed class Check(Task<HealthCheckResult> answer) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) => answer;
    }

    static HealthCheckContext Context(HealthStatus failureStatus) => new()
    {
        Registration = new HealthCheckRegistration("postgres", new Check(Task.FromResult(HealthCheckResult.Healthy())), failureStatus, null),
    };

    [Fact]
    public async Task A_check_that_does_not_answer_in_time_reports_its_failure_status_saying_so()
    {
        var never = new TaskCompletionSource<HealthCheckResult>();
        var within = new AnswerWithin(new Check(never.Task), TimeSpan.FromMilliseconds(100));

        var result = await within.CheckHealthAsync(Context(HealthStatus.Unhealthy)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((HealthStatus.Unhealthy, "no answer within 0.1 s"), (result.Status, result.Description));
        Assert.Equal(HealthStatus.Degraded, (await new AnswerWithin(new Check(never.Task), TimeSpan.FromMilliseconds(50))
            .CheckHealthAsync(Context(HealthStatus.Degraded)).WaitAsync(TimeSpan.FromSeconds(10))).Status);
    }

    [Fact]
    public async Task A_check_that_answers_in_time_is_reported_as_it_answered()
    {
        var answer = HealthCheckResult.Degraded("waiting for a store");

        var result = await new AnswerWithin(new Check(Task.FromResult(answer)), TimeSpan.FromSeconds(5)).CheckHealthAsync(Context(HealthStatus.Unhealthy));

        Assert.Equal((HealthStatus.Degraded, "waiting for a store"), (result.Status, result.Description));
    }
}
