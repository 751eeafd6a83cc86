using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KvmStat.Exporter;

/// <summary>
/// tls_server_config of a web configuration, as the exporter-toolkit reads it: the certificate and
/// key from files or inline PEM (a file wins over inline text, as there), client certificates and
/// their CAs, TLS versions, cipher suites and curves. What OpenSSL through .NET cannot do exactly is
/// accepted and named in <see cref="Settings.Notes"/>, one line each, saying what is honoured.
/// </summary>
internal static class TlsSection
{
    internal sealed record Settings(
        X509Certificate2 Certificate, SslStreamCertificateContext Context, WebConfig.ClientAuth ClientAuth, X509Certificate2Collection Cas,
        IReadOnlyList<string> Sans, SslProtocols Protocols, CipherSuitesPolicy? Ciphers, IReadOnlyList<string> Notes, IReadOnlyList<string> Files);

    /// <summary>The suites Go's tls.CipherSuites() names (the only ones the toolkit accepts); TLS 1.3's cannot be chosen there.</summary>
    private static readonly string[] s_goCipherSuites =
    [
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ];

    private static readonly TlsCipherSuite[] s_tls13 =
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    private static readonly string[] s_curves = ["CurveP256", "CurveP384", "CurveP521", "X25519", "X25519MLKEM768"];

#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1: offered only when the configuration asks and OpenSSL allows them
    private static readonly (string Name, SslProtocols Protocol)[] s_versions =
        [("TLS10", SslProtocols.Tls), ("TLS11", SslProtocols.Tls11), ("TLS12", SslProtocols.Tls12), ("TLS13", SslProtocols.Tls13)];
#pragma warning restore SYSLIB0039

    private sealed class Fields
    {
        internal string? CertFile, KeyFile, CaFile, Cert, Key, Ca;
        internal WebConfig.ClientAuth ClientAuth = WebConfig.ClientAuth.NoClientCert;
        internal List<string> Sans = [];
        internal int Min = 2, Max = 3;
        internal List<TlsCipherSuite>? Ciphers;
        internal List<string> Notes = [];
    }

    internal static Settings? Read(YamlTree.Mapping tls, string folder)
    {
        Fields f = ReadFields(tls, folder);
        // As the exporter-toolkit: a TLS section that names nothing at all serves plain HTTP.
        if (f.CertFile is null && f.Cert is null && f.KeyFile is null && f.Key is null && f.CaFile is null && f.Ca is null
            && f.ClientAuth == WebConfig.ClientAuth.NoClientCert)
            return null;
        if (f.CertFile is null && f.Cert is null || f.KeyFile is null && f.Key is null)
            throw Error(tls, "tls_server_config needs both cert_file and key_file (or cert and key inline)");
        if (f.Min > f.Max)
            throw Error(tls, "min_version is above max_version");
        bool verifies = f.ClientAuth is WebConfig.ClientAuth.VerifyClientCertIfGiven or WebConfig.ClientAuth.RequireAndVerifyClientCert;
        if (verifies && f.CaFile is null && f.Ca is null)
            throw Error(tls, $"client_auth_type {f.ClientAuth} needs client_ca_file (or client_ca)");
        // A client that may send no certificate has no SAN to match: the list would let it in unchecked.
        if (f.Sans.Count > 0 && f.ClientAuth != WebConfig.ClientAuth.RequireAndVerifyClientCert)
            throw Error(tls, $"client_allowed_sans needs client_auth_type RequireAndVerifyClientCert (with {f.ClientAuth} a client without a verified certificate would get in)");
        (X509Certificate2 certificate, SslStreamCertificateContext context) = LoadCertificate(tls, f);
        X509Certificate2Collection cas = LoadCas(tls, f);
        SslProtocols protocols = Protocols(tls, f, context);
        CipherSuitesPolicy? ciphers = null;
        if (f.Ciphers is { Count: > 0 })
        {
            // Go applies cipher_suites to TLS 1.2 and below only; TLS 1.3 keeps its own three.
            ciphers = new CipherSuitesPolicy([.. f.Ciphers.Where(c => !s_tls13.Contains(c)), .. s_tls13]);
            f.Notes.Add("cipher_suites: applied to TLS 1.2 and below, as by the exporter-toolkit; TLS 1.3 keeps its own suites (AES-GCM, ChaCha20-Poly1305)");
        }
        var files = new List<string>();
        files.AddRange(new[] { f.CertFile, f.KeyFile, f.CaFile }.OfType<string>());
        return new Settings(certificate, context, f.ClientAuth, cas, f.Sans, protocols, ciphers, f.Notes, files);
    }

    private static Fields ReadFields(YamlTree.Mapping tls, string folder)
    {
        var f = new Fields();
        foreach ((string key, YamlTree.Node value) in tls.Entries)
        {
            switch (key)
            {
                case "cert_file": f.CertFile = PathOrNull(value, key, folder); break;
                case "key_file": f.KeyFile = PathOrNull(value, key, folder); break;
                case "client_ca_file": f.CaFile = PathOrNull(value, key, folder); break;
                case "cert": f.Cert = TextOrNull(value, key); break;
                case "key": f.Key = TextOrNull(value, key); break;
                case "client_ca": f.Ca = TextOrNull(value, key); break;
                case "client_auth_type": f.ClientAuth = ClientAuth(value); break;
                case "client_allowed_sans": f.Sans = [.. WebConfig.Items(value, key).Select(item => WebConfig.Scalar(item, key))]; break;
                case "min_version": f.Min = Version(value); break;
                case "max_version": f.Max = Version(value); break;
                case "cipher_suites": f.Ciphers = [.. WebConfig.Items(value, key).Select(CipherSuite)]; break;
                case "curve_preferences":
                    List<string> curves = [.. WebConfig.Items(value, key).Select(Curve)];
                    if (curves.Count > 0)
                        f.Notes.Add($"curve_preferences ({string.Join(", ", curves)}): not applied, .NET cannot choose curves; the key exchange uses OpenSSL's (X25519, P-256, P-384, P-521)");
                    break;
                case "prefer_server_cipher_suites":
                    // Go ignores it since 1.18 (the server always weighs its own order with the client's): so does OpenSSL here.
                    WebConfig.Bool(value, key);
                    break;
                default:
                    throw Error(value, $"unknown key tls_server_config.{key} (kvm_stat reads cert_file, key_file, cert, key, client_auth_type, " +
                        "client_ca_file, client_ca, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites and curve_preferences)");
            }
        }
        return f;
    }

    private static WebConfig.ClientAuth ClientAuth(YamlTree.Node value)
    {
        string type = WebConfig.Scalar(value, "client_auth_type");
        if (type.Length == 0)
            return WebConfig.ClientAuth.NoClientCert;
        // RequireClientCert: the toolkit's older name of RequireAnyClientCert.
        if (type == "RequireClientCert")
            return WebConfig.ClientAuth.RequireAnyClientCert;
        return Enum.TryParse(type, ignoreCase: false, out WebConfig.ClientAuth parsed) && Enum.IsDefined(parsed) && !char.IsAsciiDigit(type[0])
            ? parsed
            : throw Error(value, $"client_auth_type \"{Text.Escape(type)}\" is none of {string.Join(", ", Enum.GetNames<WebConfig.ClientAuth>())}, RequireClientCert");
    }

    private static TlsCipherSuite CipherSuite(YamlTree.Node node)
    {
        string name = WebConfig.Scalar(node, "cipher_suites");
        return s_goCipherSuites.Contains(name, StringComparer.Ordinal) && Enum.TryParse(name, ignoreCase: false, out TlsCipherSuite suite)
            ? suite
            : throw Error(node, $"unknown cipher \"{Text.Escape(name)}\" (Go's names, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)");
    }

    private static string Curve(YamlTree.Node node)
    {
        string name = WebConfig.Scalar(node, "curve_preferences");
        return s_curves.Contains(name, StringComparer.Ordinal) ? name : throw Error(node, $"unknown curve \"{Text.Escape(name)}\" (one of {string.Join(", ", s_curves)})");
    }

    private static int Version(YamlTree.Node value)
    {
        string name = WebConfig.Scalar(value, "version");
        int index = Array.FindIndex(s_versions, v => v.Name == name);
        return index >= 0 ? index : throw Error(value, $"the TLS version \"{Text.Escape(name)}\" is none of TLS10, TLS11, TLS12, TLS13");
    }

    /// <summary>The versions from min to max that OpenSSL here can serve; 1.0 and 1.1 only when a handshake with them works.</summary>
    private static SslProtocols Protocols(YamlTree.Mapping tls, Fields f, SslStreamCertificateContext context)
    {
        SslProtocols protocols = 0;
        for (int i = Math.Max(f.Min, 2); i <= f.Max; i++)
            protocols |= s_versions[i].Protocol;
        if (f.Min >= 2)
            return protocols;
        SslProtocols old = 0;
        for (int i = f.Min; i <= Math.Min(f.Max, 1); i++)
            old |= s_versions[i].Protocol;
        if (TlsVersionProbe.Works(context, old))
            return protocols | old;
        if (protocols == 0)
            throw Error(tls, $"max_version {s_versions[f.Max].Name} leaves only TLS 1.0/1.1, which this system's OpenSSL refuses (its security level, see /etc/ssl/openssl.cnf); use max_version TLS12 or above");
        f.Notes.Add($"min_version {s_versions[f.Min].Name}: this system's OpenSSL refuses TLS 1.0 and 1.1 (its security level), so TLS 1.2 is the lowest served");
        return protocols;
    }

    private static (X509Certificate2, SslStreamCertificateContext) LoadCertificate(YamlTree.Mapping tls, Fields f)
    {
        string what = f.CertFile is null ? "the inline cert" : $"the certificate {f.CertFile}";
        try
        {
            string certPem = f.CertFile is null ? f.Cert! : File.ReadAllText(f.CertFile);
            string keyPem = f.KeyFile is null ? f.Key! : File.ReadAllText(f.KeyFile);
            using var pem = X509Certificate2.CreateFromPem(certPem, keyPem);
            // A certificate made from PEM keeps its key in memory only; TLS on Linux takes it as it is.
            X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            // The rest of the PEM is the chain up to the CA, sent with the certificate; built from what
            // is given, never from issuer URLs fetched over the network.
            var all = new X509Certificate2Collection();
            all.ImportFromPem(certPem);
            var chain = new X509Certificate2Collection();
            foreach (X509Certificate2 issuer in all)
            {
                if (!issuer.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                    chain.Add(issuer);
            }
            return (certificate, SslStreamCertificateContext.Create(certificate, chain, offline: true));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw Error(tls, $"{what} with {(f.KeyFile is null ? "the inline key" : "the key " + f.KeyFile)} cannot be loaded: {e.Message}");
        }
    }

    private static X509Certificate2Collection LoadCas(YamlTree.Mapping tls, Fields f)
    {
        X509Certificate2Collection cas = [];
        if (f.CaFile is null && f.Ca is null)
            return cas;
        string what = f.CaFile is null ? "the inline client_ca" : $"the client CA file {f.CaFile}";
        try
        {
            cas.ImportFromPem(f.CaFile is null ? f.Ca! : File.ReadAllText(f.CaFile));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Error(tls, $"{what} cannot be loaded: {e.Message}");
        }
        return cas.Count > 0 ? cas : throw Error(tls, $"{what} holds no certificate");
    }

    private static string? PathOrNull(YamlTree.Node value, string key, string folder) =>
        WebConfig.Scalar(value, key) is { Length: > 0 } path ? WebConfig.Resolve(folder, path) : null;

    private static string? TextOrNull(YamlTree.Node value, string key) => WebConfig.Scalar(value, key) is { Length: > 0 } text ? text : null;

    private static FormatException Error(YamlTree.Node node, string problem) => new($"line {node.Line}: {problem}");
}
