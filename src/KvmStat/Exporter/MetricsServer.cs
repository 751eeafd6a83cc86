using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmStat.Exporter;

/// <summary>
/// The HTTP endpoint, on ASP.NET Core's Kestrel used directly (no generic host, routing or
/// configuration: they would add megabytes to every mode of the binary). GET /metrics answers in
/// OpenMetrics 1.0 when the scraper's Accept header asks for it, else in the text format 0.0.4;
/// GET / names /metrics; other paths get 404 and other methods 405. Kestrel serves many scrapers
/// at once and drops slow or broken clients by its limits; concurrent scrapes share a sample.
/// A web configuration (<see cref="WebConfig"/>) adds TLS, basic authentication and headers.
/// </summary>
internal sealed class MetricsServer(IPEndPoint endpoint, MetricsSampler sampler, WebConfig? config = null) : IDisposable
{
    private KestrelServer? _server;

    internal void Start()
    {
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = new ServiceCollection().BuildServiceProvider(),
        };
        options.Limits.MaxConcurrentConnections = 512;
        options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        options.Limits.KeepAliveTimeout = TimeSpan.FromSeconds(60);
        options.Listen(endpoint, listen =>
        {
            if (config?.UsesTls != true)
                return;
            listen.Protocols = config.Http2 ? HttpProtocols.Http1AndHttp2 : HttpProtocols.Http1;
            listen.Use(TlsConnection.Middleware(config));
        });
        var transport = new SocketTransportFactory(Microsoft.Extensions.Options.Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        _server = new KestrelServer(Microsoft.Extensions.Options.Options.Create(options), transport, NullLoggerFactory.Instance);
        _server.StartAsync(new Application(sampler, config), CancellationToken.None).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        if (_server is null)
            return;
        _server.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token).GetAwaiter().GetResult();
        _server.Dispose();
    }

    private sealed class Application(MetricsSampler sampler, WebConfig? config) : IHttpApplication<HttpContext>
    {
        private readonly object _lock = new();
        private readonly BasicAuth _auth = new(config?.Users ?? new Dictionary<string, string>());
        private (int Sample, string Body)? _text;
        private (int Sample, string Body)? _openMetrics;
        private const string Index =
            "<html><head><title>kvm_stat</title></head><body><h1>kvm_stat</h1>" +
            "<p>KVM statistics for Prometheus: <a href=\"/metrics\">/metrics</a></p></body></html>\n";

        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context)
        {
            HttpRequest request = context.Request;
            HttpResponse response = context.Response;
            foreach ((string name, string value) in config?.Headers ?? [])
                response.Headers[name] = value;
            if (_auth.Enabled && !_auth.Accepts(request.Headers.Authorization.ToString()))
            {
                // The same answer whether the user or the password was wrong.
                response.StatusCode = StatusCodes.Status401Unauthorized;
                response.Headers.WWWAuthenticate = "Basic realm=\"kvm_stat\"";
                response.ContentType = "text/plain; charset=utf-8";
                return response.WriteAsync("Unauthorized\n", context.RequestAborted);
            }
            string path = request.Path.Value ?? "/";
            if (path is not ("/metrics" or "/"))
            {
                response.StatusCode = StatusCodes.Status404NotFound;
                response.ContentType = "text/plain; charset=utf-8";
                return response.WriteAsync("Not found: the metrics are at /metrics\n", context.RequestAborted);
            }
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                response.Headers.Allow = "GET, HEAD";
                return Task.CompletedTask;
            }
            if (path == "/")
            {
                response.ContentType = "text/html; charset=utf-8";
                return response.WriteAsync(Index, context.RequestAborted);
            }
            bool openMetrics = request.Headers.Accept.ToString().Contains("application/openmetrics-text", StringComparison.Ordinal);
            response.ContentType = openMetrics ? MetricsWriter.OpenMetricsContentType : MetricsWriter.TextContentType;
            string body = Exposition(openMetrics);
            return HttpMethods.IsHead(request.Method) ? Task.CompletedTask : response.WriteAsync(body, context.RequestAborted);
        }

        /// <summary>The formatted sample; scrapes that share a sample share its text too.</summary>
        private string Exposition(bool openMetrics)
        {
            (IReadOnlyList<MetricFamily> families, int sample) = sampler.Current();
            lock (_lock)
            {
                ref (int Sample, string Body)? cached = ref openMetrics ? ref _openMetrics : ref _text;
                if (cached is not { } hit || hit.Sample != sample)
                    cached = (sample, new MetricsWriter(openMetrics).Write(families));
                return cached.Value.Body;
            }
        }

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }
}
