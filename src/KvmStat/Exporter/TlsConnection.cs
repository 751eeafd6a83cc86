using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace KvmStat.Exporter;

/// <summary>
/// TLS in front of Kestrel's HTTP, as a connection middleware: an SslStream over the connection,
/// whose decrypted bytes Kestrel then reads. (Kestrel's own UseHttps takes its logging and metrics
/// from the generic host's services, which this server does without.) A handshake that fails or
/// takes longer than 10 s closes the connection; the client certificate is checked as the web
/// configuration's client_auth_type says.
/// </summary>
internal static class TlsConnection
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);

    internal static Func<ConnectionDelegate, ConnectionDelegate> Middleware(WebConfig config) => next => async connection =>
    {
        var ssl = new SslStream(new DuplexPipeStream(connection.Transport), leaveInnerStreamOpen: false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
            timeout.CancelAfter(s_handshakeTimeout);
            await ssl.AuthenticateAsServerAsync(Options(config), timeout.Token);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            await ssl.DisposeAsync();
            return;
        }
        IDuplexPipe original = connection.Transport;
        connection.Transport = new Pipe(PipeReader.Create(ssl), PipeWriter.Create(ssl));
        // Kestrel speaks HTTP/2 on a connection only when it sees TLS on it (else an HTTP/2 preface
        // gets GOAWAY): both features, as its own UseHttps sets them.
        var negotiated = new NegotiatedTls(ssl.NegotiatedApplicationProtocol.Protocol, ssl.RemoteCertificate as X509Certificate2);
        connection.Features.Set<ITlsApplicationProtocolFeature>(negotiated);
        connection.Features.Set<ITlsConnectionFeature>(negotiated);
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = original;
            await ssl.DisposeAsync();
        }
    };

    private static SslServerAuthenticationOptions Options(WebConfig config) => new()
    {
        ServerCertificate = config.Certificate,
        EnabledSslProtocols = config.Protocols,
        ClientCertificateRequired = config.ClientAuthType != WebConfig.ClientAuth.NoClientCert,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        ApplicationProtocols = config.Http2 ? [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11] : [SslApplicationProtocol.Http11],
        RemoteCertificateValidationCallback = (_, certificate, _, _) => config.ClientAuthType switch
        {
            WebConfig.ClientAuth.NoClientCert or WebConfig.ClientAuth.RequestClientCert => true,
            WebConfig.ClientAuth.RequireAnyClientCert => certificate is not null,
            WebConfig.ClientAuth.VerifyClientCertIfGiven => certificate is null || config.AcceptsClient(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())),
            _ => certificate is not null && config.AcceptsClient(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData())),
        },
    };

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    private sealed class NegotiatedTls(ReadOnlyMemory<byte> protocol, X509Certificate2? clientCertificate) : ITlsApplicationProtocolFeature, ITlsConnectionFeature
    {
        public ReadOnlyMemory<byte> ApplicationProtocol => protocol;

        public X509Certificate2? ClientCertificate { get; set; } = clientCertificate;

        public Task<X509Certificate2?> GetClientCertificateAsync(CancellationToken cancellationToken) => Task.FromResult(ClientCertificate);
    }

    /// <summary>The connection's pipes as the stream SslStream reads and writes.</summary>
    private sealed class DuplexPipeStream(IDuplexPipe pipe) : Stream
    {
        private readonly Stream _input = pipe.Input.AsStream();
        private readonly Stream _output = pipe.Output.AsStream();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _input.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _input.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => _output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _output.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _output.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Flush() => _output.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _output.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
