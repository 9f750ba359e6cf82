using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;
using PerazziSync.Contracts;
using Polly.Timeout;

namespace PerazziSync.BigCommerce.Api;

/// <summary>
/// Sits under the retry strategy, so every attempt, retries included, first takes a request from
/// the store's shared budget and then tells the budget what BigCommerce answered.
/// </summary>
sealed class RateLimitHandler(RequestBudget budget, IOptions<BigCommerceOptions> options, TimeProvider time) : DelegatingHandler
{
    /// <summary>When the request actually left, after any wait for the budget.</summary>
    public static readonly HttpRequestOptionsKey<DateTimeOffset> SentAt = new("PerazziSync.SentAt");

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var store = settings.StoreHash!;
        var waitStarted = time.GetTimestamp();
        await budget.AcquireAsync(store, cancellationToken);
        Telemetry.BigCommerceBudgetWait.Record(time.GetElapsedTime(waitStarted).TotalSeconds);
        request.Options.Set(SentAt, time.GetUtcNow());

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(settings.RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, attempt.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Telemetry.BigCommerceRequests.Add(1, new KeyValuePair<string, object?>("status", "timeout"));
            throw new TimeoutRejectedException($"BigCommerce did not answer within {settings.RequestTimeout}");
        }
        Telemetry.BigCommerceRequests.Add(1, new KeyValuePair<string, object?>("status", (int)response.StatusCode));

        // HttpHeaders look names up case-insensitively, so lower-case names work too.
        var left = IntegerHeader(response, "X-Rate-Limit-Requests-Left");
        var resetMs = IntegerHeader(response, "X-Rate-Limit-Time-Reset-Ms");
        if (response.StatusCode == HttpStatusCode.TooManyRequests && resetMs is not null)
        {
            await budget.ExhaustedAsync(store, TimeSpan.FromMilliseconds(resetMs.Value), cancellationToken);
        }
        else if (left is not null && resetMs is not null)
        {
            await budget.ObserveAsync(store, left.Value, TimeSpan.FromMilliseconds(resetMs.Value), cancellationToken);
        }
        // A 429 without these headers leaves the budget alone; the retry strategy backs off
        // exponentially instead.
        return response;
    }

    static int? IntegerHeader(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values)
        && int.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
        && value >= 0
            ? value
            : null;
}
