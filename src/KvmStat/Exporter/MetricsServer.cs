using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmStat.Exporter;

/// <summary>
/// The HTTP endpoint, on ASP.NET Core's Kestrel used directly (no generic host, routing or
/// configuration: they would add megabytes to every mode of the binary). GET /metrics answers in
/// OpenMetrics 1.0 when the scraper's Accept header asks for it, else in the text format 0.0.4;
/// GET / names /metrics; other paths get 404 and other methods 405. What it serves is the
/// families of a sample (the sampler's Current: families and a number that changes with each sample). A scrape that fails gets a
/// short text 500 naming why, and the same line goes to the log.
/// <para>
/// A web configuration (<see cref="WebConfigReloader"/>) adds Kestrel's own TLS, whose options are
/// taken per connection from the configuration in force (so a reload changes the certificate,
/// versions and client checks of the next handshake), basic authentication and headers.
/// Connections are shared out per client (<see cref="ConnectionGate"/>) and every limit of HTTP/1.1
/// and HTTP/2 is set for what a scraper needs: short headers, no bodies, few streams.
/// </para>
/// </summary>
internal sealed class MetricsServer(
    IPEndPoint endpoint, Func<(IReadOnlyList<MetricFamily> Families, int SampleNumber)> sample, TimeProvider time, Action<string> warn, WebConfigReloader? config = null,
    ConnectionGate? gate = null) : IDisposable
{
    private KestrelServer? _server;

    internal ConnectionGate Gate { get; } = gate ?? ConnectionGate.ForThisProcess();

    internal void Start()
    {
        bool tls = config?.Current.UsesTls == true;
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            // Kestrel's HTTPS takes its logging and metrics services from here.
            ApplicationServices = tls ? KestrelServices.Create() : new ServiceCollection().BuildServiceProvider(),
        };
        SetLimits(options.Limits);
        options.Listen(endpoint, listen =>
        {
            // First: a connection is let in (or another pushed out) before its handshake costs anything.
            listen.Use(Gate.Middleware);
            if (!tls)
            {
                listen.Protocols = HttpProtocols.Http1;
                return;
            }
            // HTTP/2 is offered by ALPN when the configuration in force says so.
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                HandshakeTimeout = TimeSpan.FromSeconds(5),
                OnConnection = _ => ValueTask.FromResult(TlsOptions(config!.Current)),
            });
        });
        var transport = new SocketTransportFactory(Microsoft.Extensions.Options.Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        _server = new KestrelServer(Microsoft.Extensions.Options.Options.Create(options), transport, NullLoggerFactory.Instance);
        _server.StartAsync(new MetricsApplication(sample, config, time, warn, Gate), CancellationToken.None).GetAwaiter().GetResult();
    }

    /// <summary>What a scraper needs and no more: a request line and a few headers, no body; Prometheus uses one HTTP/2 stream.</summary>
    private static void SetLimits(KestrelServerLimits limits)
    {
        // Connections are limited by the gate, which pushes out rather than refuses.
        limits.MaxConcurrentConnections = null;
        limits.MaxConcurrentUpgradedConnections = 0;
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(5);
        limits.KeepAliveTimeout = TimeSpan.FromSeconds(120);
        limits.MaxRequestLineSize = 4096;
        limits.MaxRequestHeadersTotalSize = 16 * 1024;
        limits.MaxRequestHeaderCount = 64;
        limits.MaxRequestBodySize = 0;
        limits.MaxRequestBufferSize = 64 * 1024;
        limits.MaxResponseBufferSize = 256 * 1024;
        limits.Http2.MaxStreamsPerConnection = 8;
        limits.Http2.HeaderTableSize = 4096;
        limits.Http2.MaxRequestHeaderFieldSize = 8 * 1024;
        limits.Http2.MaxFrameSize = 16 * 1024;
        limits.Http2.InitialConnectionWindowSize = 128 * 1024;
        limits.Http2.InitialStreamWindowSize = 96 * 1024;
        limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
        limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>The TLS of one handshake, from the configuration in force (one with TLS: the server listens with TLS only then).</summary>
    internal static SslServerAuthenticationOptions TlsOptions(WebConfig config)
    {
        TlsServerConfig tls = config.Tls ?? throw new InvalidOperationException("a TLS handshake under a configuration without TLS");
        return new()
        {
            ServerCertificateContext = tls.CertificateContext,
            EnabledSslProtocols = tls.Protocols,
            CipherSuitesPolicy = tls.CipherSuites,
            ClientCertificateRequired = tls.ClientAuthType != TlsServerConfig.ClientAuth.NoClientCert,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            // The client's chain is built offline against the client CAs only: a certificate's issuer URL is never fetched.
            CertificateChainPolicy = tls.ClientCas.Count > 0 ? tls.ClientChainPolicy() : new X509ChainPolicy { DisableCertificateDownloads = true, RevocationMode = X509RevocationMode.NoCheck },
            ApplicationProtocols = config.Http2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11],
            RemoteCertificateValidationCallback = (_, certificate, chain, _) => tls.ClientAuthType switch
            {
                TlsServerConfig.ClientAuth.NoClientCert or TlsServerConfig.ClientAuth.RequestClientCert => true,
                TlsServerConfig.ClientAuth.RequireAnyClientCert => certificate is not null,
                // A list of SANs needs a certificate to match (the configuration allows the list only where one is required).
                TlsServerConfig.ClientAuth.VerifyClientCertIfGiven => certificate is null ? tls.ClientAllowedSans.Count == 0 : Verified(tls, certificate, chain),
                _ => certificate is not null && Verified(tls, certificate, chain),
            },
        };
    }

    private static bool Verified(TlsServerConfig tls, X509Certificate certificate, X509Chain? chain)
    {
        // The intermediates the client sent along are in the chain TLS built; the checks are our own.
        var presented = new X509Certificate2Collection();
        if (chain is not null)
        {
            foreach (X509ChainElement element in chain.ChainElements)
                presented.Add(element.Certificate);
        }
        using X509Certificate2 client = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return tls.AcceptsClient(client, presented);
    }

    public void Dispose()
    {
        if (_server is null)
            return;
        _server.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(2)).Token).GetAwaiter().GetResult();
        _server.Dispose();
    }
}
