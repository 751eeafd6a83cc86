using System.Formats.Asn1;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KvmStat.Exporter;

/// <summary>
/// tls_server_config of a web configuration, as the exporter-toolkit reads it (<see cref="TlsKeys"/>):
/// the server's certificate and key from files or inline PEM (a file wins over inline text, as
/// there), the client certificates asked for and the CAs and SANs they are checked against, the TLS
/// versions and cipher suites. Files are read when the section is, so a file that cannot be loaded
/// is an error at start (or a reload that fails), never a handshake that does.
/// </summary>
internal sealed class TlsServerConfig
{
    /// <summary>What client certificates the server asks for and checks (the toolkit's client_auth_type).</summary>
    internal enum ClientAuth
    {
        NoClientCert,
        RequestClientCert,
        RequireAnyClientCert,
        VerifyClientCertIfGiven,
        RequireAndVerifyClientCert,
    }

    private static readonly TlsCipherSuite[] s_tls13 =
        [TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_AES_256_GCM_SHA384, TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256];

    private TlsServerConfig(X509Certificate2 certificate, SslStreamCertificateContext context)
    {
        Certificate = certificate;
        CertificateContext = context;
    }

    /// <summary>The server's certificate with its key (the first of cert_file).</summary>
    internal X509Certificate2 Certificate { get; }

    /// <summary>The certificate and the rest of cert_file's chain, as TLS sends it; built offline (no fetch of issuer URLs).</summary>
    internal SslStreamCertificateContext CertificateContext { get; }

    internal ClientAuth ClientAuthType { get; private init; }

    internal X509Certificate2Collection ClientCas { get; private init; } = [];

    internal IReadOnlyList<string> ClientAllowedSans { get; private init; } = [];

    internal SslProtocols Protocols { get; private init; }

    /// <summary>cipher_suites (for TLS 1.2 and below, TLS 1.3's own added), or null for OpenSSL's defaults.</summary>
    internal CipherSuitesPolicy? CipherSuites { get; private init; }

    /// <summary>Lines naming what of the section is honoured otherwise than it says.</summary>
    internal IReadOnlyList<string> Notes { get; private init; } = [];

    /// <summary>The files read (certificate, key, client CAs): a change to any is a reason to reload.</summary>
    internal IReadOnlyList<string> Files { get; private init; } = [];

    /// <summary>
    /// Reads the section, its files included; null where it names nothing at all (as the
    /// exporter-toolkit: plain HTTP). Relative paths are from <paramref name="folder"/> (the file's).
    /// </summary>
    internal static TlsServerConfig? Read(YamlTree.Mapping section, string folder)
    {
        TlsKeys keys = TlsKeys.Read(section, folder);
        if (keys.IsEmpty)
            return null;
        if (keys.CertFile is null && keys.Cert is null || keys.KeyFile is null && keys.Key is null)
            throw section.Error("tls_server_config needs both cert_file and key_file (or cert and key inline)");
        if (keys.Min > keys.Max)
            throw section.Error("min_version is above max_version");
        bool verifies = keys.ClientAuth is ClientAuth.VerifyClientCertIfGiven or ClientAuth.RequireAndVerifyClientCert;
        if (verifies && keys.CaFile is null && keys.Ca is null)
            throw section.Error($"client_auth_type {keys.ClientAuth} needs client_ca_file (or client_ca)");
        // A client that may send no certificate has no SAN to match: the list would let it in unchecked.
        if (keys.Sans.Count > 0 && keys.ClientAuth != ClientAuth.RequireAndVerifyClientCert)
            throw section.Error($"client_allowed_sans needs client_auth_type RequireAndVerifyClientCert (with {keys.ClientAuth} a client without a verified certificate would get in)");

        (X509Certificate2 certificate, SslStreamCertificateContext context) = LoadCertificate(section, keys);
        CipherSuitesPolicy? ciphers = null;
        if (keys.Ciphers is { Count: > 0 })
        {
            // Go applies cipher_suites to TLS 1.2 and below only; TLS 1.3 keeps its own three.
            ciphers = new CipherSuitesPolicy([.. keys.Ciphers.Where(c => !s_tls13.Contains(c)), .. s_tls13]);
            keys.Notes.Add("cipher_suites: applied to TLS 1.2 and below, as by the exporter-toolkit; TLS 1.3 keeps its own suites (AES-GCM, ChaCha20-Poly1305)");
        }
        return new TlsServerConfig(certificate, context)
        {
            ClientAuthType = keys.ClientAuth,
            ClientCas = LoadClientCas(section, keys),
            ClientAllowedSans = keys.Sans,
            Protocols = Versions(section, keys, context),
            CipherSuites = ciphers,
            Notes = keys.Notes,
            Files = [.. new[] { keys.CertFile, keys.KeyFile, keys.CaFile }.OfType<string>()],
        };
    }

    /// <summary>The versions from min to max that OpenSSL here can serve; 1.0 and 1.1 only when a handshake with them works.</summary>
    private static SslProtocols Versions(YamlTree.Mapping section, TlsKeys keys, SslStreamCertificateContext context)
    {
        SslProtocols protocols = 0;
        for (int i = Math.Max(keys.Min, 2); i <= keys.Max; i++)
            protocols |= TlsKeys.Versions[i].Protocol;
        if (keys.Min >= 2)
            return protocols;
        SslProtocols old = 0;
        for (int i = keys.Min; i <= Math.Min(keys.Max, 1); i++)
            old |= TlsKeys.Versions[i].Protocol;
        if (TlsVersionProbe.Works(context, old))
            return protocols | old;
        if (protocols == 0)
            throw section.Error($"max_version {TlsKeys.Versions[keys.Max].Name} leaves only TLS 1.0/1.1, which this system's OpenSSL refuses (its security level, see /etc/ssl/openssl.cnf); use max_version TLS12 or above");
        keys.Notes.Add($"min_version {TlsKeys.Versions[keys.Min].Name}: this system's OpenSSL refuses TLS 1.0 and 1.1 (its security level), so TLS 1.2 is the lowest served");
        return protocols;
    }

    private static (X509Certificate2, SslStreamCertificateContext) LoadCertificate(YamlTree.Node section, TlsKeys keys)
    {
        string what = keys.CertFile is null ? "the inline cert" : $"the certificate {keys.CertFile}";
        try
        {
            string certPem = keys.CertFile is null ? keys.Cert! : ConfigFile.ReadText(keys.CertFile);
            string keyPem = keys.KeyFile is null ? keys.Key! : ConfigFile.ReadText(keys.KeyFile);
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
            throw Unloadable(section, $"{what} with {(keys.KeyFile is null ? "the inline key" : "the key " + keys.KeyFile)} cannot be loaded", e);
        }
    }

    private static X509Certificate2Collection LoadClientCas(YamlTree.Node section, TlsKeys keys)
    {
        X509Certificate2Collection cas = [];
        if (keys.CaFile is null && keys.Ca is null)
            return cas;
        string what = keys.CaFile is null ? "the inline client_ca" : $"the client CA file {keys.CaFile}";
        try
        {
            cas.ImportFromPem(keys.CaFile is null ? keys.Ca! : ConfigFile.ReadText(keys.CaFile));
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw Unloadable(section, $"{what} cannot be loaded", e);
        }
        return cas.Count > 0 ? cas : throw section.Error($"{what} holds no certificate");
    }

    /// <summary>
    /// Why a certificate, key or CA could not be loaded, in plain words: a file that cannot be read
    /// is said as such (its fix is the file's, not the format's), never in the runtime's wording.
    /// </summary>
    private static FormatException Unloadable(YamlTree.Node section, string what, Exception e) => e switch
    {
        UnauthorizedAccessException => new WebConfigFileException(section.Error($"{what}: permission denied").Message),
        FileNotFoundException or DirectoryNotFoundException => new WebConfigFileException(section.Error($"{what}: no such file").Message),
        // Not a regular file, too large, or unreadable (ConfigFile): the file's fix too.
        IOException => new WebConfigFileException(section.Error($"{what}: {e.Message}").Message),
        ArgumentException when e.Message.Contains("does not match", StringComparison.Ordinal) => section.Error($"{what}: the key is not the certificate's"),
        ArgumentException argument => section.Error($"{what}: {argument.Message.Replace($" (Parameter '{argument.ParamName}')", "", StringComparison.Ordinal)}"),
        _ => section.Error($"{what}: {e.Message}"),
    };

    /// <summary>
    /// How client certificates are checked: against the client CAs only, offline (an issuer URL in a
    /// certificate is never fetched: a client must not make the exporter connect anywhere), without
    /// revocation lists (none are configured).
    /// </summary>
    internal X509ChainPolicy ClientChainPolicy(X509Certificate2Collection? presented = null)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(ClientCas);
        if (presented is not null)
            policy.ExtraStore.AddRange(presented);
        policy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return policy;
    }

    /// <summary>
    /// Whether a client certificate chains (through the intermediates it presented, if any) to one
    /// of the client CAs and, if SANs are listed, names one of them.
    /// </summary>
    internal bool AcceptsClient(X509Certificate2 client, X509Certificate2Collection? presented = null)
    {
        using var chain = new X509Chain { ChainPolicy = ClientChainPolicy(presented) };
        if (!chain.Build(client) && !EndsAtAClientCa(chain))
            return false;
        return ClientAllowedSans.Count == 0 || SubjectAlternativeNames(client).Any(ClientAllowedSans.Contains);
    }

    /// <summary>
    /// A certificate's subject alternative names as the exporter-toolkit matches them: DNS names,
    /// e-mail addresses, IP addresses and URIs; a SAN extension that cannot be read names nothing.
    /// </summary>
    internal static List<string> SubjectAlternativeNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
                continue;
            try
            {
                AsnReader list = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                while (list.HasData)
                {
                    // GeneralName (RFC 5280): rfc822Name [1], dNSName [2], uniformResourceIdentifier [6] are IA5 text, iPAddress [7] octets.
                    Asn1Tag tag = list.PeekTag();
                    int kind = tag.TagClass == TagClass.ContextSpecific ? tag.TagValue : -1;
                    if (kind is 1 or 2 or 6)
                        names.Add(list.ReadCharacterString(UniversalTagNumber.IA5String, tag));
                    else if (kind == 7 && list.ReadOctetString(tag) is { Length: 4 or 16 } address)
                        names.Add(new System.Net.IPAddress(address).ToString());
                    else if (kind != 7)
                        list.ReadEncodedValue();
                }
            }
            catch (AsnContentException)
            {
                // A malformed extension (which the handshake's own checks refuse too): the names read before it stand.
            }
        }
        return names;
    }

    /// <summary>
    /// A chain that reaches one of the client CAs that is not a root (an intermediate in
    /// client_ca_file): every CA given is a trust anchor, as in Go, so a chain that stops there for
    /// want of its root is good when nothing else is wrong up to that CA.
    /// </summary>
    private bool EndsAtAClientCa(X509Chain chain)
    {
        const X509ChainStatusFlags Incomplete = X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.UntrustedRoot;
        for (int i = 0; i < chain.ChainElements.Count; i++)
        {
            X509ChainElement element = chain.ChainElements[i];
            if (element.ChainElementStatus.Any(s => (s.Status & ~Incomplete) != X509ChainStatusFlags.NoError))
                return false;
            if (i > 0 && ClientCas.Any(ca => ca.RawDataMemory.Span.SequenceEqual(element.Certificate.RawDataMemory.Span)))
                return chain.ChainStatus.All(s => (s.Status & ~Incomplete) == X509ChainStatusFlags.NoError);
        }
        return false;
    }
}
