using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace KvmStat.Exporter;

/// <summary>
/// Whether OpenSSL on this system completes a handshake in old TLS versions (1.0, 1.1): many
/// systems refuse them at their default security level whatever a program asks. Tried once over
/// loopback with the configured certificate, only when a web configuration asks for them.
/// </summary>
internal static class TlsVersionProbe
{
    internal static bool Works(SslStreamCertificateContext certificate, SslProtocols versions)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        try
        {
            listener.Start(1);
            Task<bool> server = Task.Run(async () =>
            {
                using TcpClient accepted = await listener.AcceptTcpClientAsync(cancel.Token);
                await using var tls = new SslStream(accepted.GetStream());
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = certificate, EnabledSslProtocols = versions }, cancel.Token);
                return true;
            });
            using var client = new TcpClient();
            client.Connect((IPEndPoint)listener.LocalEndpoint);
            using var stream = new SslStream(client.GetStream());
            stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                EnabledSslProtocols = versions,
                // Only the versions are in question here, not the certificate.
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, cancel.Token).GetAwaiter().GetResult();
            return server.GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is AuthenticationException or IOException or SocketException or OperationCanceledException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
