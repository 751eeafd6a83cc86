using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace KvmStat.Exporter;

/// <summary>
/// tls_server_config of a web configuration file: the server's certificate and key, the client
/// certificates asked for and the CAs and SANs they are checked against, the TLS versions. Files
/// are read when the section is, so a file that cannot be loaded is an error at start (or a reload
/// that fails), never a handshake that does.
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

    /// <summary>The section's keys as written, paths made absolute, before anything is checked or loaded.</summary>
    private sealed class Keys
    {
        internal string? CertFile, KeyFile, CaFile;
        internal ClientAuth ClientAuth = ClientAuth.NoClientCert;
        internal List<string> Sans = [];
        internal SslProtocols Min = SslProtocols.Tls12, Max = SslProtocols.Tls13;
    }

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

    /// <summary>The files read (certificate, key, client CAs): a change to any is a reason to reload.</summary>
    internal IReadOnlyList<string> Files { get; private init; } = [];

    /// <summary>
    /// Reads the section, its files included; null where it names nothing at all (as the
    /// exporter-toolkit: plain HTTP). Relative paths are from <paramref name="folder"/> (the file's).
    /// </summary>
    internal static TlsServerConfig? Read(YamlTree.Mapping section, string folder)
    {
        Keys keys = ReadKeys(section, folder);
        // As the exporter-toolkit: a TLS section that names nothing at all serves plain HTTP.
        if (keys is { CertFile: null, KeyFile: null, CaFile: null, ClientAuth: ClientAuth.NoClientCert })
            return null;
        if (keys.CertFile is not string certFile || keys.KeyFile is not string keyFile)
            throw section.Error("tls_server_config needs both cert_file and key_file");
        if (keys.Min > keys.Max)
            throw section.Error("min_version is above max_version");
        bool verifies = keys.ClientAuth is ClientAuth.VerifyClientCertIfGiven or ClientAuth.RequireAndVerifyClientCert;
        if (verifies && keys.CaFile is null)
            throw section.Error($"client_auth_type {keys.ClientAuth} needs client_ca_file");
        if (keys.Sans.Count > 0 && !verifies)
            throw section.Error("client_allowed_sans needs a client_auth_type that verifies client certificates");

        (X509Certificate2 certificate, SslStreamCertificateContext context) = LoadCertificate(section, certFile, keyFile);
        return new TlsServerConfig(certificate, context)
        {
            ClientAuthType = keys.ClientAuth,
            ClientCas = keys.CaFile is null ? [] : LoadClientCas(section, keys.CaFile),
            ClientAllowedSans = keys.Sans,
            Protocols = Versions(keys.Min, keys.Max),
            Files = keys.CaFile is null ? [certFile, keyFile] : [certFile, keyFile, keys.CaFile],
        };
    }

    private static Keys ReadKeys(YamlTree.Mapping section, string folder)
    {
        var keys = new Keys();
        foreach ((string key, YamlTree.Node value) in section.Entries)
        {
            switch (key)
            {
                case "cert_file":
                    keys.CertFile = PathOrNull(value, key, folder);
                    break;
                case "key_file":
                    keys.KeyFile = PathOrNull(value, key, folder);
                    break;
                case "client_ca_file":
                    keys.CaFile = PathOrNull(value, key, folder);
                    break;
                case "client_auth_type":
                    string type = value.AsText(key);
                    if (type.Length > 0)
                        keys.ClientAuth = Enum.TryParse(type, ignoreCase: false, out ClientAuth parsed) && Enum.IsDefined(parsed)
                            ? parsed
                            : throw value.Error($"client_auth_type \"{type}\" is none of {string.Join(", ", Enum.GetNames<ClientAuth>())}");
                    break;
                case "client_allowed_sans":
                    keys.Sans = [.. value.AsList(key).Select(item => item.AsText(key))];
                    break;
                case "min_version":
                    keys.Min = Version(value);
                    break;
                case "max_version":
                    keys.Max = Version(value);
                    break;
                default:
                    throw value.Error($"unknown or unsupported key tls_server_config.{key} " +
                        "(kvm_stat reads cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version and max_version)");
            }
        }
        return keys;
    }

    /// <summary>A path as the exporter-toolkit takes it: absolute as it is, relative from the file's folder; null where empty.</summary>
    private static string? PathOrNull(YamlTree.Node value, string key, string folder) =>
        value.AsText(key) is { Length: > 0 } path ? (Path.IsPathRooted(path) ? path : Path.Join(folder, path)) : null;

    private static SslProtocols Version(YamlTree.Node value) => value.AsText("version") switch
    {
        "TLS12" => SslProtocols.Tls12,
        "TLS13" => SslProtocols.Tls13,
        "TLS10" or "TLS11" => throw value.Error("TLS 1.0 and 1.1 are not offered; the lowest version is TLS12"),
        string other => throw value.Error($"the TLS version \"{other}\" is none of TLS12, TLS13"),
    };

    /// <summary>The versions offered: those from min_version to max_version.</summary>
    private static SslProtocols Versions(SslProtocols min, SslProtocols max)
    {
        SslProtocols protocols = 0;
        foreach (SslProtocols version in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
        {
            if (version >= min && version <= max)
                protocols |= version;
        }
        return protocols;
    }

    private static (X509Certificate2, SslStreamCertificateContext) LoadCertificate(YamlTree.Node section, string certFile, string keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // A certificate made from PEM files keeps its key in memory only; TLS on Linux takes it as it is.
            X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            // The rest of cert_file is the chain up to the CA, sent with the certificate; the chain is
            // built from what the file holds, never from issuer URLs fetched over the network.
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certFile);
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
            throw section.Error($"the certificate {certFile} with the key {keyFile} cannot be loaded: {e.Message}");
        }
    }

    private static X509Certificate2Collection LoadClientCas(YamlTree.Node section, string caFile)
    {
        X509Certificate2Collection cas = [];
        try
        {
            cas.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw section.Error($"the client CA file {caFile} cannot be loaded: {e.Message}");
        }
        return cas.Count > 0 ? cas : throw section.Error($"the client CA file {caFile} holds no certificate");
    }

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
        if (!chain.Build(client))
            return false;
        if (ClientAllowedSans.Count == 0)
            return true;
        foreach (X509Extension extension in client.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension names
                && (names.EnumerateDnsNames().Any(ClientAllowedSans.Contains) || names.EnumerateIPAddresses().Any(ip => ClientAllowedSans.Contains(ip.ToString()))))
                return true;
        }
        return false;
    }
}
