using System.Net;
using KvmStat.Sources.BinaryStats;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace KvmStat.Exporter;

/// <summary>
/// What the endpoint answers (see <see cref="MetricsServer"/>): the exposition of the current
/// sample, and the state of the web configuration's reloads when there is one. A scrape whose
/// sample or formatting fails gets "500" with one short line naming why, which also goes to the
/// log (once, until the failure changes or a minute passes); never an empty answer.
/// </summary>
internal sealed class MetricsApplication(Func<(IReadOnlyList<MetricFamily> Families, int SampleNumber)> sample, WebConfigReloader? config, TimeProvider time, Action<string> warn,
    ConnectionGate gate) : IHttpApplication<HttpContext>
{
    private static readonly TimeSpan s_repeatFailure = TimeSpan.FromMinutes(1);
    private const string Index =
        "<html><head><title>kvm_stat</title></head><body><h1>kvm_stat</h1>" +
        "<p>KVM statistics for Prometheus: <a href=\"/metrics\">/metrics</a></p></body></html>\n";

    private readonly object _lock = new();
    private (int Sample, int Reloads, SharedBody Body)? _text;
    private (int Sample, int Reloads, SharedBody Body)? _openMetrics;
    // One writer per format, its buffer kept from scrape to scrape.
    private readonly MetricsWriter _textWriter = new(openMetrics: false), _openMetricsWriter = new(openMetrics: true);
    private (string Line, DateTimeOffset At)? _lastFailure;

    public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

    /// <summary>
    /// Every request, whatever fails in it: an answer never started gets a short text 500 naming
    /// why, and the same line goes to the log (a failure Kestrel caught itself would be an empty 500, logged nowhere).
    /// </summary>
    public async Task ProcessRequestAsync(HttpContext context)
    {
        try
        {
            await AnswerAsync(context);
        }
        catch (Exception e) when (e is not OutOfMemoryException && !(e is OperationCanceledException && context.RequestAborted.IsCancellationRequested))
        {
            await FailAsync(context, e, "the request failed");
        }
    }

    /// <summary>A 500 with the failure's line (logged too), or, where the answer has begun, the connection dropped.</summary>
    private Task FailAsync(HttpContext context, Exception e, string what)
    {
        string line = Failure(e, what);
        HttpResponse response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }
        response.Clear();
        response.StatusCode = StatusCodes.Status500InternalServerError;
        return Text(response, $"kvm_stat: {line}\n", context.RequestAborted);
    }

    private async Task AnswerAsync(HttpContext context)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        WebConfig? web = config?.Current;
        if (web?.RateLimit is { } limit && !limit.TryTake())
        {
            response.StatusCode = StatusCodes.Status429TooManyRequests;
            await Text(response, "Too many requests: rate_limit of the web configuration\n", context.RequestAborted);
            return;
        }
        foreach ((string name, string value) in web?.Headers ?? [])
            response.Headers[name] = value;
        if (web?.Auth is { Enabled: true } auth && !await AuthorizedAsync(context, auth, gate))
            return;
        string path = request.Path.Value ?? "/";
        if (path is not ("/metrics" or "/"))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            await Text(response, "Not found: the metrics are at /metrics\n", context.RequestAborted);
            return;
        }
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }
        if (path == "/")
        {
            response.ContentType = "text/html; charset=utf-8";
            await response.WriteAsync(Index, context.RequestAborted);
            return;
        }
        bool openMetrics = WantsOpenMetrics(request.Headers.Accept);
        SharedBody body;
        try
        {
            body = Exposition(openMetrics);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await FailAsync(context, e, "the scrape failed");
            return;
        }
        try
        {
            response.ContentType = openMetrics ? MetricsWriter.OpenMetricsContentType : MetricsWriter.TextContentType;
            response.ContentLength = body.Bytes.Count;
            if (!HttpMethods.IsHead(request.Method))
                await response.Body.WriteAsync(body.Bytes, context.RequestAborted);
        }
        finally
        {
            lock (_lock)
                body.Done();
        }
    }

    /// <summary>Basic authentication: false after answering 401 (the same whether the user or the password was wrong) or 429 (too many checks of this client waiting).</summary>
    private static async Task<bool> AuthorizedAsync(HttpContext context, BasicAuth auth, ConnectionGate gate)
    {
        HttpResponse response = context.Response;
        ConnectionInfo connection = context.Connection;
        // Who the client is costs a question to the kernel: asked only for a bcrypt check.
        UInt128 Client() => gate.ClientOf(
            connection.RemoteIpAddress is { } address ? new IPEndPoint(address, connection.RemotePort) : null,
            connection.LocalIpAddress is { } own ? new IPEndPoint(own, connection.LocalPort) : null);
        AuthResult result = await auth.AcceptsAsync(context.Request.Headers.Authorization.ToString(), Client, context.RequestAborted);
        if (result == AuthResult.Accepted)
            return true;
        response.StatusCode = result == AuthResult.Busy ? StatusCodes.Status429TooManyRequests : StatusCodes.Status401Unauthorized;
        if (result == AuthResult.Busy)
            response.Headers.RetryAfter = "1";
        else
            response.Headers.WWWAuthenticate = "Basic realm=\"kvm_stat\"";
        await Text(response, result == AuthResult.Busy ? "Too many logins waiting from this client\n" : "Unauthorized\n", context.RequestAborted);
        return false;
    }

    private static Task Text(HttpResponse response, string text, CancellationToken cancel)
    {
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(text, cancel);
    }

    /// <summary>The line a failed scrape answers with, written to the log too unless it was just written.</summary>
    private string Failure(Exception e, string what)
    {
        string why = KvmStat.Text.Escape(KvmStatException.Describe(e));
        string line = what + ": " + (why.Length <= 300 ? why : why[..300] + "...");
        lock (_lock)
        {
            DateTimeOffset now = time.GetUtcNow();
            if (_lastFailure is not { } last || last.Line != line || now - last.At > s_repeatFailure)
            {
                _lastFailure = (line, now);
                warn(line);
            }
        }
        return line;
    }

    /// <summary>
    /// The formatted sample, taken for sending (<see cref="SharedBody.Done"/> when sent); scrapes
    /// that share a sample (and the same reloads) share its text too.
    /// </summary>
    private SharedBody Exposition(bool openMetrics)
    {
        (IReadOnlyList<MetricFamily> families, int number) = sample();
        lock (_lock)
        {
            int reloads = config?.Attempts ?? 0;
            ref (int Sample, int Reloads, SharedBody Body)? cached = ref openMetrics ? ref _openMetrics : ref _text;
            // A scrape whose sample is older than the text in hand (another took a newer one
            // meanwhile) is answered with the newer, never written again over it.
            if (cached is not { } hit || hit.Sample < number || hit.Reloads != reloads)
            {
                MetricsWriter writer = openMetrics ? _openMetricsWriter : _textWriter;
                // The last text's buffer back first (where no scrape sends it), to be written into;
                // the new text is one of its own, which scrapes still sending the last one never see.
                cached?.Body.Replace();
                // Nothing sends the replaced text again, should the writing fail.
                cached = null;
                cached = (number, reloads, new SharedBody(writer, writer.WriteDetached(config is null ? families : [.. families, .. ReloadFamilies(config)])));
                foreach (string dropped in writer.Dropped)
                    warn($"left out of the exposition: {dropped}");
            }
            cached.Value.Body.Take();
            return cached.Value.Body;
        }
    }

    /// <summary>Whether the last reload of the web configuration worked, and when one last did (as Prometheus names its own).</summary>
    private static IEnumerable<MetricFamily> ReloadFamilies(WebConfigReloader config)
    {
        var successful = new MetricFamily("kvm_stat_web_config_last_reload_successful", "gauge",
            "1 when the last reload of --web-config-file worked (or none was tried), 0 when the settings in force are older than the file.");
        successful.Gauge([], config.LastReloadSucceeded ? 1 : 0);
        var at = new MetricFamily("kvm_stat_web_config_last_reload_success_timestamp_seconds", "gauge",
            "When the settings of --web-config-file in force were read, in seconds since the epoch.");
        at.Add("", [], BaseUnits.Float(config.LastSuccess.ToUnixTimeMilliseconds() / 1000.0));
        return [successful, at];
    }

    public void DisposeContext(HttpContext context, Exception? exception)
    {
    }

    /// <summary>
    /// Whether the Accept header prefers OpenMetrics: offered with a quality above 0 and not below
    /// that of the text format (or of anything, */*). Prometheus asks for OpenMetrics first.
    /// </summary>
    internal static bool WantsOpenMetrics(Microsoft.Extensions.Primitives.StringValues accept)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParseList(accept, out IList<Microsoft.Net.Http.Headers.MediaTypeHeaderValue>? types))
            return false;
        double open = 0, text = 0;
        foreach (Microsoft.Net.Http.Headers.MediaTypeHeaderValue type in types)
        {
            double quality = type.Quality ?? 1;
            if (type.MediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
                open = Math.Max(open, quality);
            else if (type.MediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase) || type.MediaType.Equals("*/*", StringComparison.Ordinal))
                text = Math.Max(text, quality);
        }
        return open > 0 && open >= text;
    }
}
