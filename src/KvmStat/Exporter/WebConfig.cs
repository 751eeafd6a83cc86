using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace KvmStat.Exporter;

/// <summary>
/// --web-config-file: the web configuration of Prometheus exporters (the exporter-toolkit format
/// operators already have): tls_server_config (certificate and key files, client certificates and
/// their CA, TLS versions), basic_auth_users (bcrypt hashes) and http_server_config.headers. The
/// whole file is read and checked before the server listens: a mistake is an error at start,
/// never a server that runs without what the file asks for. Paths are as the exporter-toolkit
/// takes them: relative ones from the file's folder, absolute ones as they are. A configuration
/// is never changed once read; <see cref="WebConfigReloader"/> swaps in a new one.
/// </summary>
internal sealed partial class WebConfig
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

    /// <summary>The response headers the toolkit lets a file set, with the values it allows (null: any).</summary>
    private static readonly Dictionary<string, string[]?> s_headers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Strict-Transport-Security"] = null,
        ["Content-Security-Policy"] = null,
        ["X-Frame-Options"] = ["deny", "sameorigin"],
        ["X-Content-Type-Options"] = ["nosniff"],
        ["X-XSS-Protection"] = null,
    };

    /// <summary>The server's certificate with its key (the first of cert_file).</summary>
    internal X509Certificate2? Certificate { get; private init; }

    /// <summary>The certificate and the rest of cert_file's chain, as TLS sends it; built offline (no fetch of issuer URLs).</summary>
    internal SslStreamCertificateContext? CertificateContext { get; private init; }

    /// <summary>The files this configuration was read from (itself, certificate, key, client CAs): a change to any is a reason to reload.</summary>
    internal IReadOnlyList<string> Files { get; private init; } = [];

    internal ClientAuth ClientAuthType { get; private init; }

    internal X509Certificate2Collection ClientCas { get; private init; } = [];

    internal IReadOnlyList<string> ClientAllowedSans { get; private init; } = [];

    internal SslProtocols Protocols { get; private init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    internal bool Http2 { get; private init; } = true;

    internal IReadOnlyList<(string Name, string Value)> Headers { get; private init; } = [];

    /// <summary>User name → bcrypt hash.</summary>
    internal IReadOnlyDictionary<string, string> Users { get; private init; } = new Dictionary<string, string>();

    internal bool UsesTls => Certificate is not null;

    /// <summary>Checks basic_auth_users' passwords; made with the configuration, so a reload starts it anew.</summary>
    internal BasicAuth Auth { get; private init; } = new(new Dictionary<string, string>());

    [GeneratedRegex(@"^\$2[abxy]?\$(?<cost>[0-9]{2})\$[./A-Za-z0-9]{53}$")]
    private static partial Regex BcryptHash();

    /// <summary>bcrypt's cost is 2^cost rounds; the format allows 4 to 31 (a cost of 31 takes days per check).</summary>
    internal const int MinBcryptCost = 4, MaxBcryptCost = 31;

    internal static WebConfig Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Problem(path, $"cannot be read: {e.Message}", "Check the path given to --web-config-file.");
        }
        YamlTree.Mapping root;
        try
        {
            root = YamlTree.Parse(text);
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        try
        {
            return FromMapping(root, folder, Path.GetFullPath(path));
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
    }

    private static WebConfig FromMapping(YamlTree.Mapping root, string folder, string file)
    {
        TlsSettings? tls = null;
        bool http2 = true;
        var headers = new List<(string, string)>();
        var users = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach ((string key, YamlTree.Node value) in root.Entries)
        {
            switch (key)
            {
                case "tls_server_config":
                    tls = ReadTls(Map(value, key), folder);
                    break;
                case "http_server_config":
                    foreach ((string setting, YamlTree.Node node) in Map(value, key).Entries)
                    {
                        switch (setting)
                        {
                            case "http2":
                                http2 = Bool(node, setting);
                                break;
                            case "headers":
                                foreach ((string name, YamlTree.Node header) in Map(node, setting).Entries)
                                {
                                    string text = Scalar(header, name);
                                    if (!s_headers.TryGetValue(name, out string[]? allowed))
                                        throw Error(header, $"the header {name} cannot be set (allowed: {string.Join(", ", s_headers.Keys)})");
                                    if (allowed is not null && !allowed.Contains(text, StringComparer.OrdinalIgnoreCase))
                                        throw Error(header, $"{name} must be {string.Join(" or ", allowed)}");
                                    headers.Add((name, text));
                                }
                                break;
                            default:
                                throw Error(node, $"unknown key http_server_config.{setting} (kvm_stat reads http2 and headers)");
                        }
                    }
                    break;
                case "basic_auth_users":
                    foreach ((string user, YamlTree.Node hash) in Map(value, key).Entries)
                    {
                        string text = Scalar(hash, user);
                        Match match = BcryptHash().Match(text);
                        if (!match.Success)
                            throw Error(hash, $"the password of user \"{user}\" is not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':')");
                        int cost = int.Parse(match.Groups["cost"].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
                        if (cost is < MinBcryptCost or > MaxBcryptCost)
                            throw Error(hash, $"the password hash of user \"{user}\" has the bcrypt cost {cost}, outside {MinBcryptCost} to {MaxBcryptCost}");
                        users[user] = text;
                    }
                    break;
                default:
                    throw Error(value, $"unknown key {key} (kvm_stat reads tls_server_config, http_server_config and basic_auth_users)");
            }
        }
        return new WebConfig
        {
            Certificate = tls?.Certificate,
            CertificateContext = tls?.Context,
            ClientAuthType = tls?.ClientAuth ?? ClientAuth.NoClientCert,
            ClientCas = tls?.Cas ?? [],
            ClientAllowedSans = tls?.Sans ?? [],
            Protocols = tls?.Protocols ?? SslProtocols.Tls12 | SslProtocols.Tls13,
            Http2 = http2,
            Headers = headers,
            Users = users,
            Auth = new BasicAuth(users),
            Files = [file, .. tls?.Files ?? []],
        };
    }

    private sealed record TlsSettings(
        X509Certificate2? Certificate, SslStreamCertificateContext? Context, ClientAuth ClientAuth, X509Certificate2Collection Cas,
        IReadOnlyList<string> Sans, SslProtocols Protocols, IReadOnlyList<string> Files);

    /// <summary>A path of the file as the exporter-toolkit takes it: absolute as it is, relative from the file's folder.</summary>
    internal static string Resolve(string folder, string path) => Path.IsPathRooted(path) ? path : Path.Join(folder, path);

    private static TlsSettings? ReadTls(YamlTree.Mapping tls, string folder)
    {
        string? certFile = null, keyFile = null, caFile = null;
        var clientAuth = ClientAuth.NoClientCert;
        List<string> sans = [];
        SslProtocols min = SslProtocols.Tls12, max = SslProtocols.Tls13;
        foreach ((string key, YamlTree.Node value) in tls.Entries)
        {
            switch (key)
            {
                case "cert_file":
                    certFile = PathOrNull(value, key, folder);
                    break;
                case "key_file":
                    keyFile = PathOrNull(value, key, folder);
                    break;
                case "client_ca_file":
                    caFile = PathOrNull(value, key, folder);
                    break;
                case "client_auth_type":
                    string type = Scalar(value, key);
                    if (type.Length == 0)
                        break;
                    clientAuth = Enum.TryParse(type, ignoreCase: false, out ClientAuth parsed) && Enum.IsDefined(parsed)
                        ? parsed
                        : throw Error(value, $"client_auth_type \"{type}\" is none of {string.Join(", ", Enum.GetNames<ClientAuth>())}");
                    break;
                case "client_allowed_sans":
                    sans = [.. Items(value, key).Select(item => Scalar(item, key))];
                    break;
                case "min_version":
                    min = Version(value);
                    break;
                case "max_version":
                    max = Version(value);
                    break;
                default:
                    throw Error(value, $"unknown or unsupported key tls_server_config.{key} " +
                        "(kvm_stat reads cert_file, key_file, client_auth_type, client_ca_file, client_allowed_sans, min_version and max_version)");
            }
        }
        // As the exporter-toolkit: a TLS section that names nothing at all serves plain HTTP.
        if (certFile is null && keyFile is null && caFile is null && clientAuth == ClientAuth.NoClientCert)
            return null;
        if (certFile is null || keyFile is null)
            throw Error(tls, "tls_server_config needs both cert_file and key_file");
        if (min > max)
            throw Error(tls, "min_version is above max_version");
        SslProtocols protocols = 0;
        foreach (SslProtocols version in new[] { SslProtocols.Tls12, SslProtocols.Tls13 })
        {
            if (version >= min && version <= max)
                protocols |= version;
        }
        bool verifies = clientAuth is ClientAuth.VerifyClientCertIfGiven or ClientAuth.RequireAndVerifyClientCert;
        if (verifies && caFile is null)
            throw Error(tls, $"client_auth_type {clientAuth} needs client_ca_file");
        if (sans.Count > 0 && !verifies)
            throw Error(tls, "client_allowed_sans needs a client_auth_type that verifies client certificates");
        X509Certificate2 certificate;
        SslStreamCertificateContext context;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // A certificate made from PEM files keeps its key in memory only; TLS on Linux takes it as it is.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
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
            context = SslStreamCertificateContext.Create(certificate, chain, offline: true);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw Error(tls, $"the certificate {certFile} with the key {keyFile} cannot be loaded: {e.Message}");
        }
        X509Certificate2Collection cas = [];
        if (caFile is not null)
        {
            try
            {
                cas.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw Error(tls, $"the client CA file {caFile} cannot be loaded: {e.Message}");
            }
            if (cas.Count == 0)
                throw Error(tls, $"the client CA file {caFile} holds no certificate");
        }
        return new TlsSettings(certificate, context, clientAuth, cas, sans, protocols,
            caFile is null ? [certFile, keyFile] : [certFile, keyFile, caFile]);
    }

    private static string? PathOrNull(YamlTree.Node value, string key, string folder) =>
        Scalar(value, key) is { Length: > 0 } path ? Resolve(folder, path) : null;

    private static SslProtocols Version(YamlTree.Node value) => Scalar(value, "version") switch
    {
        "TLS12" => SslProtocols.Tls12,
        "TLS13" => SslProtocols.Tls13,
        "TLS10" or "TLS11" => throw Error(value, "TLS 1.0 and 1.1 are not offered; the lowest version is TLS12"),
        string other => throw Error(value, $"the TLS version \"{other}\" is none of TLS12, TLS13"),
    };

    private static YamlTree.Mapping Map(YamlTree.Node node, string key) =>
        node as YamlTree.Mapping ?? (node is YamlTree.Scalar { IsNull: true } ? new YamlTree.Mapping(node.Line, []) : throw Error(node, $"{key} must hold keys and values"));

    private static IReadOnlyList<YamlTree.Node> Items(YamlTree.Node node, string key) =>
        node is YamlTree.Sequence sequence ? sequence.Items : node is YamlTree.Scalar { IsNull: true } ? [] : throw Error(node, $"{key} must be a list");

    private static string Scalar(YamlTree.Node node, string key) =>
        node is YamlTree.Scalar scalar ? scalar.Value : throw Error(node, $"{key} must be a single value");

    // YAML 1.1's spellings too, as the exporter-toolkit's YAML reader takes them.
    private static bool Bool(YamlTree.Node node, string key) => Scalar(node, key) switch
    {
        "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y" => true,
        "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N" => false,
        string other => throw Error(node, $"{key} must be true or false, not \"{other}\""),
    };

    private static FormatException Error(YamlTree.Node node, string problem) => new($"line {node.Line}: {problem}");

    private static EnvironmentException Problem(string path, string problem, string? fix = null) =>
        new($"--web-config-file {Text.Escape(path)}: {problem}", fix ?? "The format is that of Prometheus exporters' web configuration files (see README).");

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
