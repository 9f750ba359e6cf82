using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PerazziSync.ServiceDefaults;

/// <summary>
/// A health check that answers within <paramref name="timeout"/>, whether or not what it waits on
/// does: cancelled, a command on a pooled database connection that fell silent may still wait out
/// its command timeout. Past the time the check reports its failure status, and its own answer,
/// whenever it comes, is dropped.
/// </summary>
public sealed class AnswerWithin(IHealthCheck check, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var time = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        time.CancelAfter(timeout);
        try
        {
            return await check.CheckHealthAsync(context, time.Token).WaitAsync(time.Token);
        }
        catch (OperationCanceledException) when (time.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"no answer within {timeout.TotalSeconds:0.#} s");
        }
    }
}
