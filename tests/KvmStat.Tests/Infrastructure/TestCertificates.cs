using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A small PKI in a temporary folder, made in-process: a CA, a server certificate for 127.0.0.1
/// signed by it, a client certificate signed by it (SAN "scraper"), and a client certificate
/// nobody signed. PEM files as the web configuration names them: ca.crt, server.crt, server.key.
/// And an intermediate CA under the CA: chain.crt holds a server certificate it signed followed by
/// the intermediate (a full chain, as a real CA delivers it), with chain.key; its client
/// certificate (<see cref="IntermediateClientCertificate"/>) names the intermediate's URL
/// (<see cref="IssuerUrl"/>, set by the caller) in its Authority Information Access, as public CAs do.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    internal TestCertificates(string? issuerUrl = null)
    {
        IssuerUrl = issuerUrl;
        Folder = Directory.CreateTempSubdirectory("kvm_stat-pki-").FullName;
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=kvm_stat test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        ServerCertificate = Issue("CN=127.0.0.1", "1.3.6.1.5.5.7.3.1", names => names.AddIpAddress(IPAddress.Loopback), "server");
        ClientCertificate = Issue("CN=scraper", "1.3.6.1.5.5.7.3.2", names =>
        {
            names.AddDnsName("scraper");
            names.AddEmailAddress("scraper@example.org");
            names.AddUri(new Uri("spiffe://example.org/scraper"));
            names.AddIpAddress(IPAddress.Parse("192.0.2.7"));
        }, "client");

        using var strangerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var strangerRequest = new CertificateRequest("CN=stranger", strangerKey, HashAlgorithmName.SHA256);
        strangerRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        StrangerCertificate = Reload(strangerRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(1)));

        File.WriteAllText(Path.Join(Folder, "ca.crt"), Ca.ExportCertificatePem());

        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var intermediateRequest = new CertificateRequest("CN=kvm_stat test intermediate", intermediateKey, HashAlgorithmName.SHA256);
        intermediateRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        intermediateRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 intermediate = intermediateRequest.Create(Ca, now.AddHours(-1), now.AddHours(13), RandomNumberGenerator.GetBytes(8));
        Intermediate = Reload(intermediate.CopyWithPrivateKey(intermediateKey));
        File.WriteAllText(Path.Join(Folder, "intermediate.crt"), Intermediate.ExportCertificatePem());
        using (X509Certificate2 chained = IssueBy(Intermediate, "CN=127.0.0.1", "1.3.6.1.5.5.7.3.1", names => names.AddIpAddress(IPAddress.Loopback), "chain"))
            File.AppendAllText(Path.Join(Folder, "chain.crt"), "\n" + Intermediate.ExportCertificatePem() + "\n");
        IntermediateClientCertificate = IssueBy(Intermediate, "CN=scraper", "1.3.6.1.5.5.7.3.2", names => names.AddDnsName("scraper"), "intermediate-client");
    }

    /// <summary>The URL client certificates of the intermediate name as where their issuer can be fetched.</summary>
    internal string? IssuerUrl { get; }

    internal X509Certificate2 Intermediate { get; }

    internal X509Certificate2 IntermediateClientCertificate { get; }

    internal string Folder { get; }

    internal X509Certificate2 Ca { get; }

    internal X509Certificate2 ServerCertificate { get; }

    internal X509Certificate2 ClientCertificate { get; }

    internal X509Certificate2 StrangerCertificate { get; }

    private X509Certificate2 Issue(string subject, string usage, Action<SubjectAlternativeNameBuilder> addNames, string file) =>
        IssueBy(Ca, subject, usage, addNames, file);

    private X509Certificate2 IssueBy(X509Certificate2 issuer, string subject, string usage, Action<SubjectAlternativeNameBuilder> addNames, string file)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        if (IssuerUrl is not null && issuer != Ca)
            request.CertificateExtensions.Add(new X509AuthorityInformationAccessExtension(null, [IssuerUrl]));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        var names = new SubjectAlternativeNameBuilder();
        addNames(names);
        request.CertificateExtensions.Add(names.Build());
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 issued = request.Create(issuer, now.AddHours(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(8));
        using X509Certificate2 withKey = issued.CopyWithPrivateKey(key);
        File.WriteAllText(Path.Join(Folder, file + ".crt"), withKey.ExportCertificatePem());
        File.WriteAllText(Path.Join(Folder, file + ".key"), key.ExportPkcs8PrivateKeyPem());
        return Reload(withKey);
    }

    /// <summary>A copy whose key TLS on Linux can use (an ephemeral key made in memory cannot be).</summary>
    private static X509Certificate2 Reload(X509Certificate2 certificate) =>
        X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);

    /// <summary>An HTTPS client that trusts only this CA, with a client certificate if given.</summary>
    internal HttpClient HttpsClient(X509Certificate2? clientCertificate = null)
    {
        var handler = new SocketsHttpHandler
        {
            SslOptions =
            {
                RemoteCertificateValidationCallback = (_, certificate, sent, _) =>
                {
                    if (certificate is null)
                        return false;
                    using var chain = new X509Chain();
                    // The intermediates the server sent along with its certificate.
                    if (sent is not null)
                        chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(Ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    // Only what the server sends: an intermediate it leaves out is not fetched.
                    chain.ChainPolicy.DisableCertificateDownloads = true;
                    return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
                // The client's own chain is not completed from issuer URLs either: any fetch is the server's.
                ClientCertificateContext = clientCertificate is null ? null : SslStreamCertificateContext.Create(clientCertificate, null, offline: true),
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public void Dispose()
    {
        Ca.Dispose();
        Intermediate.Dispose();
        IntermediateClientCertificate.Dispose();
        ServerCertificate.Dispose();
        ClientCertificate.Dispose();
        StrangerCertificate.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
