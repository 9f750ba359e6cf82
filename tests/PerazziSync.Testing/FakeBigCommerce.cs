using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PerazziSync.Testing;

/// <summary>
/// BigCommerce's REST API for one store, over real HTTP on loopback: the Orders V2 and Customers V3
/// reads the sync makes (orders with their consignments as FakeBigCommerce.Orders.cs builds them),
/// the Webhooks V3 API (FakeBigCommerce.Hooks.cs), BigCommerce's fixed-window rate limit with its
/// headers, and faults on demand. It answers 401 without the access token, 400 without the JSON
/// Accept and Content-Type headers BigCommerce's spec asks for, and refuses a method, path, query
/// parameter, parameter given twice, parameter value (a number, a list of ids, a date out of the
/// spec's formats) or body the spec does not have; each such refusal is counted
/// (<see cref="BadRequests"/>, <see cref="Refusals"/>).
/// </summary>
public sealed partial class FakeBigCommerce : IAsyncDisposable
{
    public const string AccessToken = "test-access-token";

    readonly WebApplication _app;
    readonly ConcurrentDictionary<long, JsonObject> _orders = new();
    readonly ConcurrentDictionary<long, JsonArray> _lines = new();
    readonly ConcurrentDictionary<long, JsonObject> _customers = new();
    readonly ConcurrentDictionary<string, int> _requests = new();
    readonly Lock _gate = new();
    DateTimeOffset _windowEndsAt = DateTimeOffset.MinValue;
    int _windowUsed;
    bool _windowExhausted;
    TimeSpan? _exhaustAtNextRequest;
    int _failuresLeft;
    int _failureStatus;
    int _failuresSent;
    int _tooManyRequests;
    int _randomFailures;
    int _answered;
    readonly ConcurrentQueue<string> _refusals = new();
    double _randomFailureRate;
    TaskCompletionSource? _hold;
    int _held;

    FakeBigCommerce(WebApplication app, string storeHash)
    {
        _app = app;
        StoreHash = storeHash;
    }

    public string StoreHash { get; }

    public string BaseUrl => _app.Urls.First();

    /// <summary>Requests per window; 0 means unlimited.</summary>
    public int Quota { get; set; }

    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Send the rate-limit headers in lower case, as some proxies do.</summary>
    public bool LowerCaseHeaders { get; set; }

    public int TooManyRequestsSent => Volatile.Read(ref _tooManyRequests);

    /// <summary>Requests failed as <see cref="FailNext"/> asked.</summary>
    public int FailuresSent
    {
        get
        {
            lock (_gate)
            {
                return _failuresSent;
            }
        }
    }

    /// <summary>Requests answered 500 by <see cref="FailAtRandom"/>.</summary>
    public int RandomFailuresSent
    {
        get
        {
            lock (_gate)
            {
                return _randomFailures;
            }
        }
    }

    /// <summary>Requests refused as BigCommerce's spec does not allow them: the client must never cause one.</summary>
    public int BadRequests => _refusals.Count;

    /// <summary>What each refused request did wrong, for a failing test's message.</summary>
    public IReadOnlyList<string> Refusals => _refusals.ToList();

    public static async Task<FakeBigCommerce> StartAsync(string storeHash)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeBigCommerce(app, storeHash);
        app.Use(fake.GuardAsync);
        app.Use(fake.HooksAsync);
        app.MapGet($"/stores/{storeHash}/v2/orders/{{id:long}}", (long id, HttpContext context) =>
            fake.Conforming(context, 400, "include", "consignment_structure") ?? fake.Order(id, context));
        app.MapGet($"/stores/{storeHash}/v2/orders/{{id:long}}/products", (long id, HttpContext context) =>
            fake.Conforming(context, 400, "page", "limit")
            ?? fake.Lines(id, (int)(Integer(context.Request.Query, "page") ?? 1), (int)(Integer(context.Request.Query, "limit") ?? 50)));
        app.MapGet($"/stores/{storeHash}/v2/orders", (HttpContext context) =>
            fake.Conforming(context, 400, "min_date_modified", "min_id", "max_id", "include", "consignment_structure", "sort", "page", "limit")
            ?? fake.ListOrders(context));
        // Customers V3 answers a filter it cannot use with 422.
        app.MapGet($"/stores/{storeHash}/v3/customers", (HttpContext context) =>
            fake.Conforming(context, 422, "id:in", "date_modified:min", "sort", "page", "limit") ?? fake.Customers(context));
        app.MapFallback((HttpContext context) => fake.Refuse(context, 404, $"{context.Request.Method} {context.Request.Path} is not an operation the product uses"));
        await app.StartAsync();
        return fake;
    }

    public void PutOrder(JsonObject order, JsonArray lines)
    {
        var id = order["id"]!.GetValue<long>();
        _orders[id] = (JsonObject)order.DeepClone();
        _lines[id] = (JsonArray)lines.DeepClone();
    }

    public void PutCustomer(JsonObject customer) =>
        _customers[customer["id"]!.GetValue<long>()] = (JsonObject)customer.DeepClone();

    /// <summary>How many times the order itself was fetched.</summary>
    public int OrderFetches(long orderId) => _requests.GetValueOrDefault($"order:{orderId}");

    public int CustomerFetches(long customerId) => _requests.GetValueOrDefault($"customer:{customerId}");

    public int OrderListings => _requests.GetValueOrDefault("orders:list");

    /// <summary>
    /// Listings by modification date started: each reconciliation run asks for their page 1 once.
    /// The rounds of order fetches list by id range and are not counted here.
    /// </summary>
    public int OrderListingRuns => _requests.GetValueOrDefault("orders:list:first");

    public int CustomerListings => _requests.GetValueOrDefault("customers:list");

    /// <summary>
    /// Every request that reached the store, whatever it answered (refusals and 429s included);
    /// the per-entity counts above count what a request read, a listing many orders at once.
    /// </summary>
    public int TotalRequests => Volatile.Read(ref _answered);

    /// <summary>The next <paramref name="count"/> requests fail with <paramref name="status"/>.</summary>
    public void FailNext(int count, HttpStatusCode status)
    {
        lock (_gate)
        {
            _failuresLeft = count;
            _failureStatus = (int)status;
        }
    }

    /// <summary>From now on requests wait, until <see cref="Release"/>: a test sees a fetch under way (<see cref="HeldRequests"/>).</summary>
    public void Hold() => Volatile.Write(ref _hold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Answers the held requests and holds no more.</summary>
    public void Release() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

    /// <summary>Requests that were held, answered or not.</summary>
    public int HeldRequests => Volatile.Read(ref _held);

    /// <summary>
    /// Runs as each request that passed the token, header and rate-limit checks arrives, before
    /// it is answered: a test changes the store between two pages of a listing with it.
    /// </summary>
    public Func<HttpRequest, Task>? OnRequest { get; set; }

    /// <summary>Every request fails with 500 with this probability.</summary>
    public void FailAtRandom(double rate) => _randomFailureRate = rate;

    /// <summary>
    /// Spends the rest of the current window, as another app of the store would: every request
    /// is answered 429 until the window resets in <paramref name="resetIn"/>, whatever the quota.
    /// </summary>
    public void ExhaustWindow(TimeSpan resetIn)
    {
        lock (_gate)
        {
            Exhaust(DateTimeOffset.UtcNow, resetIn);
        }
    }

    /// <summary>
    /// <see cref="ExhaustWindow"/> at the moment the next request arrives, so that this request
    /// is the one answered 429, however long it takes to come.
    /// </summary>
    public void ExhaustWindowAtNextRequest(TimeSpan resetIn)
    {
        lock (_gate)
        {
            _exhaustAtNextRequest = resetIn;
        }
    }

    void Exhaust(DateTimeOffset now, TimeSpan resetIn)
    {
        _windowEndsAt = now + resetIn;
        _windowExhausted = true;
    }

    async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref _answered);
        var request = context.Request;
        if (request.Headers["X-Auth-Token"] != AccessToken)
        {
            NonConforming(context, "401: no access token");
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        if (!request.Headers.Accept.ToString().Contains("application/json", StringComparison.Ordinal)
            || !(request.ContentType ?? "").StartsWith("application/json", StringComparison.Ordinal))
        {
            NonConforming(context, "400: Accept and Content-Type must be application/json");
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        int status = 0;
        int left;
        TimeSpan reset;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            if (_exhaustAtNextRequest is { } resetIn)
            {
                Exhaust(now, resetIn);
                _exhaustAtNextRequest = null;
            }
            if (now >= _windowEndsAt)
            {
                _windowEndsAt = now + Window;
                _windowUsed = 0;
                _windowExhausted = false;
            }
            reset = _windowEndsAt - now;
            if (_windowExhausted || (Quota > 0 && _windowUsed >= Quota))
            {
                status = StatusCodes.Status429TooManyRequests;
            }
            else
            {
                _windowUsed++;
                if (_failuresLeft > 0)
                {
                    _failuresLeft--;
                    _failuresSent++;
                    status = _failureStatus;
                }
                else if (_randomFailureRate > 0 && Random.Shared.NextDouble() < _randomFailureRate)
                {
                    status = StatusCodes.Status500InternalServerError;
                    _randomFailures++;
                }
            }
            left = _windowExhausted ? 0 : Quota > 0 ? Math.Max(Quota - _windowUsed, 0) : 1_000_000;
        }
        if (Quota > 0 || status == StatusCodes.Status429TooManyRequests)
        {
            var headers = context.Response.Headers;
            headers[Name("X-Rate-Limit-Requests-Left")] = left.ToString(CultureInfo.InvariantCulture);
            headers[Name("X-Rate-Limit-Time-Reset-Ms")] = ((long)reset.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            headers[Name("X-Rate-Limit-Time-Window-Ms")] = ((long)Window.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
            headers[Name("X-Rate-Limit-Requests-Quota")] = Quota.ToString(CultureInfo.InvariantCulture);
        }
        if (status == StatusCodes.Status429TooManyRequests)
        {
            Interlocked.Increment(ref _tooManyRequests);
        }
        if (status != 0)
        {
            context.Response.StatusCode = status;
            return;
        }
        if (Volatile.Read(ref _hold) is { } hold)
        {
            Interlocked.Increment(ref _held);
            await hold.Task;
        }
        if (OnRequest is { } arriving)
        {
            await arriving(request);
        }
        await next(context);
    }

    string Name(string header) => LowerCaseHeaders ? header.ToLowerInvariant() : header;

    /// <summary>
    /// Null when a read carries only the query parameters it takes, each once and with a value of
    /// the spec's type and format, and no body; else the refusal (a value out of its format with
    /// <paramref name="valueStatus"/>).
    /// </summary>
    IResult? Conforming(HttpContext context, int valueStatus, params string[] parameters) =>
        (QueryProblem(context, parameters) ?? BodyProblem(context)) is { } problem ? Refuse(context, 400, problem)
        : ValueProblem(context.Request.Query) is { } value ? Refuse(context, valueStatus, value)
        : null;

    /// <summary>Why a value of the reads' parameters is not of the spec's type or format, or null.</summary>
    static string? ValueProblem(IQueryCollection query)
    {
        foreach (var (name, values) in query)
        {
            var value = values.ToString();
            var wanted = name switch
            {
                "page" or "limit" => Integer(value) is >= 1 ? null : "a whole number from 1",
                "min_id" or "max_id" => Integer(value) is not null ? null : "a whole number",
                "id:in" => value.Split(',').All(id => Integer(id) is not null) ? null : "whole numbers separated by commas",
                "min_date_modified" => OrderDate(value) is not null ? null : "a date and time in RFC-2822 or ISO-8601, with its offset",
                "date_modified:min" => CustomerDateFilter(value) is not null ? null : "an ISO-8601 date or date and time",
                _ => null,
            };
            if (wanted is not null)
            {
                return $"{name}={value} is not {wanted}";
            }
        }
        return null;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex IsoWithOffset();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?)?$")]
    private static partial Regex IsoDateOrTime();

    [GeneratedRegex(@"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}(?::\d{2})? (?<sign>[+-])(?<hours>\d{2})(?<minutes>\d{2})$")]
    private static partial Regex Rfc2822();

    /// <summary>
    /// A <c>min_date_modified</c> of Orders V2: RFC-2822 (<c>Thu, 20 Apr 2017 11:32:00 -0400</c>) or
    /// ISO-8601 (<c>2017-04-20T11:32:00.000-04:00</c>), both with the offset their examples carry.
    /// </summary>
    static DateTimeOffset? OrderDate(string text)
    {
        if (IsoWithOffset().IsMatch(text))
        {
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var iso) ? iso : null;
        }
        if (Rfc2822().Match(text) is not { Success: true } rfc)
        {
            return null;
        }
        var offset = $"{rfc.Groups["sign"].Value}{rfc.Groups["hours"].Value}:{rfc.Groups["minutes"].Value}";
        var local = text[..rfc.Groups["sign"].Index].TrimEnd();
        return DateTimeOffset.TryParseExact($"{local} {offset}",
            ["ddd, d MMM yyyy HH:mm:ss zzz", "d MMM yyyy HH:mm:ss zzz", "ddd, d MMM yyyy HH:mm zzz", "d MMM yyyy HH:mm zzz"],
            CultureInfo.InvariantCulture, DateTimeStyles.None, out var at) ? at : null;
    }

    /// <summary>A date filter of Customers V3: <c>2024-05-14</c>, <c>2024-05-14T09:34:00</c> (both UTC), or a date-time with its offset.</summary>
    static DateTimeOffset? CustomerDateFilter(string text) =>
        IsoDateOrTime().IsMatch(text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    static long? Integer(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number : null;

    void NonConforming(HttpContext context, string why) =>
        _refusals.Enqueue($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} → {why}");

    IResult Lines(long id, int page, int limit)
    {
        Count($"lines:{id}");
        if (!_lines.TryGetValue(id, out var lines))
        {
            return Results.NotFound();
        }
        var slice = lines.Skip((page - 1) * limit).Take(limit).Select(l => l!.DeepClone()).ToArray();
        // V2 answers an empty page with 204.
        return slice.Length == 0 ? Results.NoContent() : Json(new JsonArray(slice));
    }

    /// <summary>Values of <c>sort</c> the Customers V3 spec lists.</summary>
    static readonly HashSet<string> CustomerSorts =
        ["date_created:asc", "date_created:desc", "last_name:asc", "last_name:desc", "date_modified:asc", "date_modified:desc"];

    /// <summary>The largest page of <c>GET /v3/customers</c>: a larger <c>limit</c> gets this many, as <c>meta.pagination.per_page</c> says.</summary>
    public const int MostCustomersPerPage = 250;

    /// <summary>
    /// <c>GET /v3/customers</c>: filtered by <c>id:in</c> and <c>date_modified:min</c>, sorted
    /// (by id when no <c>sort</c> is given), paged by <c>page</c> and <c>limit</c> (default 50), with
    /// the pagination of what was asked and found.
    /// </summary>
    IResult Customers(HttpContext context)
    {
        var query = context.Request.Query;
        var page = Integer(query, "page") ?? 1;
        var limit = Integer(query, "limit") ?? 50;
        var perPage = (int)Math.Min(limit, MostCustomersPerPage);
        var sort = query["sort"].ToString();
        if (sort.Length > 0 && !CustomerSorts.Contains(sort))
        {
            return Refuse(context, 422, $"sort={sort} is not one of {string.Join(", ", CustomerSorts)}");
        }
        var since = query["date_modified:min"].ToString() is { Length: > 0 } from ? CustomerDateFilter(from) : null;
        IEnumerable<JsonObject> selected = _customers.Values;
        if (query["id:in"].ToString() is { Length: > 0 } ids)
        {
            var wanted = ids.Split(',').Select(i => Integer(i)!.Value).ToHashSet();
            foreach (var id in wanted)
            {
                Count($"customer:{id}");
            }
            selected = selected.Where(c => wanted.Contains(Number(c["id"])));
        }
        else
        {
            Count("customers:list");
        }
        if (since is { } min)
        {
            selected = selected.Where(c => CustomerDate(c, "date_modified") is not { } modified || modified >= min);
        }
        var (field, direction) = sort.Split(':') is [var f, var d] ? (f, d) : ("id", "asc");
        Func<JsonObject, IComparable?> key = field switch
        {
            "date_created" or "date_modified" => c => CustomerDate(c, field),
            "last_name" => c => c["last_name"]?.ToString(),
            _ => c => Number(c["id"]),
        };
        var sorted = direction == "asc"
            ? selected.OrderBy(key).ThenBy(c => Number(c["id"]))
            : selected.OrderByDescending(key).ThenByDescending(c => Number(c["id"]));
        var all = sorted.ToList();
        var slice = all.Skip((int)((page - 1) * perPage)).Take(perPage).Select(c => (JsonNode)c.DeepClone()).ToArray();
        return Json(new JsonObject
        {
            ["data"] = new JsonArray(slice),
            ["meta"] = new JsonObject { ["pagination"] = Pagination(all.Count, slice.Length, perPage, (int)page) },
        });
    }

    /// <summary>
    /// A customer's ISO-8601 date; null when it cannot be read. BigCommerce filters and sorts by
    /// the dates it keeps, whatever it writes into the customer, so a customer a test stores with
    /// an unreadable <c>date_modified</c> is listed by every <c>date_modified:min</c>.
    /// </summary>
    static DateTimeOffset? CustomerDate(JsonObject customer, string name) =>
        customer[name] is JsonValue value && value.TryGetValue<string>(out var text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : null;

    void Count(string key) => _requests.AddOrUpdate(key, 1, (_, n) => n + 1);

    static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json");

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
