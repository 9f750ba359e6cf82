using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace PerazziSync.Testing;

/// <summary>
/// The store's webhooks, kept as BigCommerce's Webhooks V3 API keeps them: <c>GET/POST /v3/hooks</c>,
/// <c>GET/PUT/DELETE /v3/hooks/{id}</c>, <c>GET/PUT /v3/hooks/admin</c>, each answer in its
/// <c>data</c>/<c>meta</c> envelope, ids and Unix timestamps assigned here, <c>headers</c> an object
/// of strings or null, 422 for a body BigCommerce refuses (a destination not HTTPS on port 443
/// among them). A request whose method, path, query or body the spec does not allow is refused
/// and counted in <see cref="BadRequests"/>, so a test that ends with none proves the product's
/// requests conform.
/// </summary>
public sealed partial class FakeBigCommerce
{
    public const string ClientId = "perazzi-test-client";

    static readonly string[] HookFields = ["scope", "destination", "is_active", "headers"];

    readonly Lock _hookGate = new();
    readonly SortedDictionary<long, JsonObject> _hooks = [];
    readonly List<(JsonObject Domain, DateTimeOffset Until)> _blockedDomains = [];
    readonly List<string> _emails = [];
    long _nextHookId = 20172984;
    int _hookWrites;
    int _createAnswersToLose;
    int _createAnswersLost;
    int _lostAnswerStatus;

    /// <summary>The store's hooks as BigCommerce would list them.</summary>
    public IReadOnlyList<JsonObject> Hooks
    {
        get
        {
            lock (_hookGate)
            {
                return _hooks.Values.Select(h => (JsonObject)h.DeepClone()).ToList();
            }
        }
    }

    /// <summary>Listings of the hooks (<c>GET /v3/hooks</c>) the store answered.</summary>
    public int HookListings => _requests.GetValueOrDefault("hooks:list");

    /// <summary>Reads of the hooks' admin view (<c>GET /v3/hooks/admin</c>) the store answered.</summary>
    public int HookAdminReads => _requests.GetValueOrDefault("hooks:admin");

    /// <summary>POST, PUT and DELETE requests to the hooks that the store accepted.</summary>
    public int HookWrites => Volatile.Read(ref _hookWrites);

    /// <summary>
    /// The next <paramref name="count"/> hooks created are made, and then answered
    /// <paramref name="status"/> instead of with the hook, as when BigCommerce's gateway loses the
    /// answer (a 502, a 504).
    /// </summary>
    public void LoseCreateAnswers(int count, HttpStatusCode status)
    {
        lock (_hookGate)
        {
            _createAnswersToLose = count;
            _lostAnswerStatus = (int)status;
        }
    }

    /// <summary>Hooks made whose answer <see cref="LoseCreateAnswers"/> replaced.</summary>
    public int CreateAnswersLost
    {
        get
        {
            lock (_hookGate)
            {
                return _createAnswersLost;
            }
        }
    }

    /// <summary>A hook made outside the product (by hand in the control panel, another integration); returns its id.</summary>
    public long AddHook(string scope, string destination, bool isActive = true, IReadOnlyDictionary<string, string>? headers = null, DateTimeOffset? updatedAt = null)
    {
        lock (_hookGate)
        {
            var hook = NewHook(scope, destination, isActive, headers is null ? null : HeadersNode(headers), updatedAt ?? DateTimeOffset.UtcNow);
            _hooks[hook["id"]!.GetValue<long>()] = hook;
            return hook["id"]!.GetValue<long>();
        }
    }

    /// <summary>Deletes a hook outside the product (by hand in the control panel, another integration).</summary>
    public void RemoveHook(long id)
    {
        lock (_hookGate)
        {
            _hooks.Remove(id);
        }
    }

    /// <summary>Deactivates a hook as BigCommerce does after 90 days without events or exhausted retries.</summary>
    public void DeactivateHook(long id, DateTimeOffset? at = null)
    {
        lock (_hookGate)
        {
            _hooks[id]["is_active"] = false;
            _hooks[id]["updated_at"] = (at ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        }
    }

    /// <summary>Blocks a destination domain for <paramref name="timeLeft"/>, as BigCommerce does when deliveries to it keep failing.</summary>
    public void BlockDomain(string destination, TimeSpan timeLeft, params (string Description, int Count, DateTimeOffset At)[] reasons)
    {
        lock (_hookGate)
        {
            _blockedDomains.Add((new JsonObject
            {
                ["destination"] = destination,
                ["reasons"] = new JsonArray(reasons.Select(r => (JsonNode?)new JsonObject
                {
                    ["failure_description"] = r.Description,
                    ["count"] = r.Count,
                    ["timestamp"] = r.At.ToUnixTimeSeconds(),
                }).ToArray()),
            }, DateTimeOffset.UtcNow + timeLeft));
        }
    }

    public void SetNotificationEmails(params string[] emails)
    {
        lock (_hookGate)
        {
            _emails.Clear();
            _emails.AddRange(emails);
        }
    }

    [GeneratedRegex(@"^/v3/hooks(?:/(?<rest>[^/]+))?$")]
    private static partial Regex HookPath();

    /// <summary>Everything under <c>/stores/{hash}/v3/hooks</c>; the rest goes on to the other routes.</summary>
    async Task HooksAsync(HttpContext context, RequestDelegate next)
    {
        var prefix = $"/stores/{StoreHash}";
        var path = context.Request.Path.Value ?? "";
        if (!path.StartsWith(prefix + "/v3/hooks", StringComparison.Ordinal))
        {
            await next(context);
            return;
        }
        var match = HookPath().Match(path[prefix.Length..]);
        var rest = match.Success ? match.Groups["rest"].Value : "";
        var method = context.Request.Method;
        long? id = long.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1 ? n : null;
        var result = (match.Success, rest, id, method) switch
        {
            (false, _, _, _) => Refuse(context, 404, $"no such path {path}"),
            (_, "", _, "GET") => ListHooks(context),
            (_, "", _, "POST") => await CreateHookAsync(context),
            (_, "", _, _) => Refuse(context, 405, $"{method} is not an operation of {path}"),
            (_, "admin", _, "GET") => Admin(context),
            (_, "admin", _, "PUT") => await SetEmailsAsync(context),
            (_, "admin", _, _) => Refuse(context, 405, $"{method} is not an operation of {path}"),
            (_, _, null, _) => Refuse(context, 404, $"webhook_id '{rest}' is not a positive integer"),
            (_, _, { } hook, "GET") => OneHook(context, hook),
            (_, _, { } hook, "PUT") => await UpdateHookAsync(context, hook),
            (_, _, { } hook, "DELETE") => DeleteHook(context, hook),
            _ => Refuse(context, 405, $"{method} is not an operation of {path}"),
        };
        await result.ExecuteAsync(context);
    }

    IResult ListHooks(HttpContext context)
    {
        if ((QueryProblem(context, "page", "limit", "is_active", "scope", "destination") ?? BodyProblem(context)) is { } problem)
        {
            return Refuse(context, 400, problem);
        }
        var query = context.Request.Query;
        if (!PositiveInt(query["page"], 1, out var page) || !PositiveInt(query["limit"], 50, out var limit)
            || !OptionalBool(query["is_active"], out var active))
        {
            return Refuse(context, 400, $"page, limit and is_active must be a positive integer, a positive integer and a boolean: {context.Request.QueryString}");
        }
        Count("hooks:list");
        List<JsonObject> all;
        lock (_hookGate)
        {
            all = _hooks.Values
                .Where(h => active is null || h["is_active"]!.GetValue<bool>() == active)
                .Where(h => query["scope"].ToString() is not { Length: > 0 } scope || h["scope"]!.GetValue<string>() == scope)
                .Where(h => query["destination"].ToString() is not { Length: > 0 } destination || h["destination"]!.GetValue<string>() == destination)
                .Select(h => (JsonObject)h.DeepClone())
                .ToList();
        }
        var slice = all.Skip((page - 1) * limit).Take(limit).ToArray();
        return Json(new JsonObject
        {
            ["data"] = new JsonArray(slice.Select(h => (JsonNode?)h).ToArray()),
            ["meta"] = new JsonObject { ["pagination"] = Pagination(all.Count, slice.Length, limit, page) },
        });
    }

    IResult OneHook(HttpContext context, long id)
    {
        if ((QueryProblem(context) ?? BodyProblem(context)) is { } problem)
        {
            return Refuse(context, 400, problem);
        }
        lock (_hookGate)
        {
            return _hooks.TryGetValue(id, out var hook) ? Json(Envelope(hook)) : NotFound(id);
        }
    }

    async Task<IResult> CreateHookAsync(HttpContext context)
    {
        if (QueryProblem(context) is { } queryProblem)
        {
            return Refuse(context, 400, queryProblem);
        }
        var (body, problem) = await ReadObjectAsync(context);
        var errors = problem is not null ? new Dictionary<string, string> { ["body"] = problem } : HookErrors(body!, creating: true);
        if (errors.Count > 0)
        {
            return Unprocessable(context, errors);
        }
        Interlocked.Increment(ref _hookWrites);
        lock (_hookGate)
        {
            var hook = NewHook(
                body!["scope"]!.GetValue<string>(),
                body["destination"]!.GetValue<string>(),
                body["is_active"]?.GetValue<bool>() ?? true,
                body["headers"]?.DeepClone().AsObject(),
                DateTimeOffset.UtcNow);
            _hooks[hook["id"]!.GetValue<long>()] = hook;
            if (_createAnswersToLose > 0)
            {
                _createAnswersToLose--;
                _createAnswersLost++;
                return Results.Json(new { status = _lostAnswerStatus, title = "The gateway lost the answer" }, statusCode: _lostAnswerStatus);
            }
            return Json(Envelope(hook));
        }
    }

    async Task<IResult> UpdateHookAsync(HttpContext context, long id)
    {
        if (QueryProblem(context) is { } queryProblem)
        {
            return Refuse(context, 400, queryProblem);
        }
        var (body, problem) = await ReadObjectAsync(context);
        var errors = problem is not null ? new Dictionary<string, string> { ["body"] = problem } : HookErrors(body!, creating: false);
        if (errors.Count > 0)
        {
            return Unprocessable(context, errors);
        }
        lock (_hookGate)
        {
            if (!_hooks.TryGetValue(id, out var hook))
            {
                return NotFound(id);
            }
            Interlocked.Increment(ref _hookWrites);
            foreach (var (name, value) in body!.ToList())
            {
                hook[name] = value?.DeepClone();
            }
            hook["updated_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            return Json(Envelope(hook));
        }
    }

    IResult DeleteHook(HttpContext context, long id)
    {
        if ((QueryProblem(context) ?? BodyProblem(context)) is { } problem)
        {
            return Refuse(context, 400, problem);
        }
        lock (_hookGate)
        {
            if (!_hooks.Remove(id, out var hook))
            {
                return NotFound(id);
            }
            Interlocked.Increment(ref _hookWrites);
            return Json(Envelope(hook));
        }
    }

    IResult Admin(HttpContext context)
    {
        if ((QueryProblem(context, "is_active") ?? BodyProblem(context)) is { } problem)
        {
            return Refuse(context, 400, problem);
        }
        if (!OptionalBool(context.Request.Query["is_active"], out var active))
        {
            return Refuse(context, 400, "is_active must be a boolean");
        }
        Count("hooks:admin");
        lock (_hookGate)
        {
            var hooks = _hooks.Values.Where(h => active is null || h["is_active"]!.GetValue<bool>() == active).Select(h =>
            {
                var listed = (JsonObject)h.DeepClone();
                listed["status"] = h["is_active"]!.GetValue<bool>() ? "active" : "inactive";
                return (JsonNode?)listed;
            }).ToArray();
            return Json(new JsonObject
            {
                ["data"] = new JsonObject
                {
                    ["emails"] = new JsonArray(_emails.Select(e => (JsonNode?)e).ToArray()),
                    ["hooks_list"] = new JsonArray(hooks),
                    ["blocked_domains"] = new JsonArray(_blockedDomains.Where(b => b.Until > DateTimeOffset.UtcNow).Select(b =>
                    {
                        var domain = (JsonObject)b.Domain.DeepClone();
                        domain["time_left"] = (long)(b.Until - DateTimeOffset.UtcNow).TotalSeconds;
                        return (JsonNode?)domain;
                    }).ToArray()),
                },
                ["meta"] = new JsonObject { ["pagination"] = Pagination(hooks.Length, hooks.Length, Math.Max(hooks.Length, 1), 1) },
            });
        }
    }

    async Task<IResult> SetEmailsAsync(HttpContext context)
    {
        if (QueryProblem(context) is { } queryProblem)
        {
            return Refuse(context, 400, queryProblem);
        }
        var (body, problem) = await ReadObjectAsync(context);
        if (body is null || body.Any(p => p.Key != "emails")
            || body["emails"] is not JsonArray emails || emails.Any(e => e is not JsonValue v || v.GetValueKind() != JsonValueKind.String))
        {
            return Unprocessable(context, new Dictionary<string, string> { ["emails"] = problem ?? "must be an array of e-mail addresses, alone" });
        }
        SetNotificationEmails(emails.Select(e => e!.GetValue<string>()).ToArray());
        return Results.NoContent();
    }

    /// <summary>
    /// What BigCommerce refuses in a hook body (<c>webhook_Base</c> to create, <c>webhook_Put</c> to
    /// update): a field it does not know, a value of the wrong type, a missing scope or
    /// destination, an update that changes nothing, a destination it cannot deliver to.
    /// </summary>
    static Dictionary<string, string> HookErrors(JsonObject body, bool creating)
    {
        var errors = new Dictionary<string, string>();
        foreach (var (name, _) in body.Where(p => !HookFields.Contains(p.Key)))
        {
            errors[name] = "is not a field of a webhook";
        }
        if (creating && body["scope"] is null)
        {
            errors["scope"] = "error.path.missing";
        }
        if (creating && body["destination"] is null)
        {
            errors["destination"] = "error.path.missing";
        }
        if (body.ContainsKey("scope") && (body["scope"] is not JsonValue scope || scope.GetValueKind() != JsonValueKind.String
            || !scope.GetValue<string>().StartsWith("store/", StringComparison.Ordinal)))
        {
            errors["scope"] = "must be a scope such as store/order/created";
        }
        if (body.ContainsKey("destination"))
        {
            if (body["destination"] is not JsonValue destination || destination.GetValueKind() != JsonValueKind.String)
            {
                errors["destination"] = "must be a string";
            }
            else if (!Uri.TryCreate(destination.GetValue<string>(), UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps || url.Port != 443)
            {
                errors["destination"] = "must be an https URL served on port 443";
            }
        }
        if (body.ContainsKey("is_active") && (body["is_active"] is not JsonValue active || active.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False)))
        {
            errors["is_active"] = "must be a boolean";
        }
        if (body.ContainsKey("headers") && body["headers"] is { } headers
            && (headers is not JsonObject map || map.Any(h => h.Value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)))
        {
            errors["headers"] = "must be an object of strings, or null";
        }
        if (!creating && body.Count == 0)
        {
            errors["body"] = "an update names at least one field";
        }
        return errors;
    }

    JsonObject NewHook(string scope, string destination, bool isActive, JsonObject? headers, DateTimeOffset at)
    {
        var id = _nextHookId++;
        return new JsonObject
        {
            ["id"] = id,
            ["client_id"] = ClientId,
            ["store_hash"] = StoreHash,
            ["scope"] = scope,
            ["destination"] = destination,
            ["headers"] = headers,
            ["is_active"] = isActive,
            ["created_at"] = at.ToUnixTimeSeconds(),
            ["updated_at"] = at.ToUnixTimeSeconds(),
        };
    }

    static JsonObject HeadersNode(IReadOnlyDictionary<string, string> headers)
    {
        var node = new JsonObject();
        foreach (var (name, value) in headers)
        {
            node[name] = value;
        }
        return node;
    }

    static JsonObject Envelope(JsonObject hook) => new() { ["data"] = hook.DeepClone(), ["meta"] = new JsonObject() };

    static JsonObject Pagination(int total, int count, int perPage, int page) => new()
    {
        ["total"] = total,
        ["count"] = count,
        ["per_page"] = perPage,
        ["current_page"] = page,
        ["total_pages"] = Math.Max(1, (total + perPage - 1) / perPage),
        ["links"] = new JsonObject { ["current"] = $"?page={page}&limit={perPage}" },
    };

    static async Task<(JsonObject? Body, string? Problem)> ReadObjectAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body) is JsonObject body ? (body, null) : (null, "the body must be a JSON object");
        }
        catch (JsonException e)
        {
            return (null, "the body is not JSON: " + e.Message);
        }
    }

    /// <summary>Why the query is not one the operation takes (a parameter it does not have, or one given twice), or null.</summary>
    static string? QueryProblem(HttpContext context, params string[] allowed) =>
        context.Request.Query.Keys.Where(k => !allowed.Contains(k)).ToList() is { Count: > 0 } unknown
            ? $"{context.Request.Method} {context.Request.Path} takes no parameter {string.Join(", ", unknown)}"
            : context.Request.Query.Where(q => q.Value.Count > 1).Select(q => q.Key).ToList() is { Count: > 0 } repeated
                ? $"{context.Request.Method} {context.Request.Path} takes each parameter once: {string.Join(", ", repeated)} given more often"
                : null;

    /// <summary>Why a request that carries no body has one, or null.</summary>
    static string? BodyProblem(HttpContext context) =>
        context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0
            ? $"{context.Request.Method} {context.Request.Path} carries no body"
            : null;

    static bool PositiveInt(Microsoft.Extensions.Primitives.StringValues value, int fallback, out int number)
    {
        number = fallback;
        return value.Count == 0
            || (value.Count == 1 && int.TryParse(value[0], NumberStyles.None, CultureInfo.InvariantCulture, out number) && number >= 1);
    }

    static bool OptionalBool(Microsoft.Extensions.Primitives.StringValues value, out bool? flag)
    {
        flag = null;
        if (value.Count == 0)
        {
            return true;
        }
        if (value.Count == 1 && value[0] is "true" or "false")
        {
            flag = value[0] == "true";
            return true;
        }
        return false;
    }

    static IResult NotFound(long id) => Results.Json(
        new { status = 404, title = $"Webhook with id [{id}] not found", type = "/api-docs/getting-started/api-status-codes" }, statusCode: 404);

    IResult Unprocessable(HttpContext context, Dictionary<string, string> errors)
    {
        NonConforming(context, $"422: {string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value}"))}");
        return Results.Json(new
        {
            status = 422,
            title = "JSON data is missing or invalid",
            type = "/api-docs/getting-started/api-status-codes",
            errors,
        }, statusCode: 422);
    }

    IResult Refuse(HttpContext context, int status, string why)
    {
        NonConforming(context, $"{status}: {why}");
        return Results.Json(new { status, title = why, type = "/api-docs/getting-started/api-status-codes" }, statusCode: status);
    }
}
