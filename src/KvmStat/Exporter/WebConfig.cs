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
/// never a server that runs without what the file asks for. Paths are relative to the file.
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

    internal X509Certificate2? Certificate { get; private init; }

    internal ClientAuth ClientAuthType { get; private init; }

    internal X509Certificate2Collection ClientCas { get; private init; } = [];

    internal IReadOnlyList<string> ClientAllowedSans { get; private init; } = [];

    internal SslProtocols Protocols { get; private init; } = SslProtocols.Tls12 | SslProtocols.Tls13;

    internal bool Http2 { get; private init; } = true;

    internal IReadOnlyList<(string Name, string Value)> Headers { get; private init; } = [];

    /// <summary>User name → bcrypt hash.</summary>
    internal IReadOnlyDictionary<string, string> Users { get; private init; } = new Dictionary<string, string>();

    internal bool UsesTls => Certificate is not null;

    [GeneratedRegex(@"^\$2[abxy]?\$[0-9]{2}\$[./A-Za-z0-9]{53}$")]
    private static partial Regex BcryptHash();

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
        YamlSubset.Mapping root;
        try
        {
            root = YamlSubset.Parse(text);
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
        try
        {
            return FromMapping(root, folder);
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
    }

    private static WebConfig FromMapping(YamlSubset.Mapping root, string folder)
    {
        X509Certificate2? certificate = null;
        var clientAuth = ClientAuth.NoClientCert;
        X509Certificate2Collection cas = [];
        List<string> sans = [];
        SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        bool http2 = true;
        var headers = new List<(string, string)>();
        var users = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach ((string key, YamlSubset.Node value) in root.Entries)
        {
            switch (key)
            {
                case "tls_server_config":
                    ReadTls(Map(value, key), folder, out certificate, out clientAuth, out cas, out sans, out protocols);
                    break;
                case "http_server_config":
                    foreach ((string setting, YamlSubset.Node node) in Map(value, key).Entries)
                    {
                        switch (setting)
                        {
                            case "http2":
                                http2 = Bool(node, setting);
                                break;
                            case "headers":
                                foreach ((string name, YamlSubset.Node header) in Map(node, setting).Entries)
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
                    foreach ((string user, YamlSubset.Node hash) in Map(value, key).Entries)
                    {
                        string text = Scalar(hash, user);
                        if (!BcryptHash().IsMatch(text))
                            throw Error(hash, $"the password of user \"{user}\" is not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':')");
                        users[user] = text;
                    }
                    break;
                default:
                    throw Error(value, $"unknown key {key} (kvm_stat reads tls_server_config, http_server_config and basic_auth_users)");
            }
        }
        return new WebConfig
        {
            Certificate = certificate,
            ClientAuthType = clientAuth,
            ClientCas = cas,
            ClientAllowedSans = sans,
            Protocols = protocols,
            Http2 = http2,
            Headers = headers,
            Users = users,
        };
    }

    private static void ReadTls(
        YamlSubset.Mapping tls, string folder, out X509Certificate2? certificate, out ClientAuth clientAuth,
        out X509Certificate2Collection cas, out List<string> sans, out SslProtocols protocols)
    {
        string? certFile = null, keyFile = null, caFile = null;
        clientAuth = ClientAuth.NoClientCert;
        sans = [];
        SslProtocols min = SslProtocols.Tls12, max = SslProtocols.Tls13;
        foreach ((string key, YamlSubset.Node value) in tls.Entries)
        {
            switch (key)
            {
                case "cert_file":
                    certFile = Path.Join(folder, Scalar(value, key));
                    break;
                case "key_file":
                    keyFile = Path.Join(folder, Scalar(value, key));
                    break;
                case "client_ca_file":
                    caFile = Path.Join(folder, Scalar(value, key));
                    break;
                case "client_auth_type":
                    string type = Scalar(value, key);
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
        if (certFile is null != keyFile is null)
            throw Error(tls, "tls_server_config needs both cert_file and key_file");
        if (certFile is null)
            throw Error(tls, "tls_server_config without cert_file and key_file: remove it to serve plain HTTP");
        if (min > max)
            throw Error(tls, "min_version is above max_version");
        protocols = 0;
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
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            // A certificate made from PEM files keeps its key in memory only; TLS on Linux takes it as it is.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw Error(tls, $"the certificate {certFile} with the key {keyFile} cannot be loaded: {e.Message}");
        }
        cas = [];
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
    }

    private static SslProtocols Version(YamlSubset.Node value) => Scalar(value, "version") switch
    {
        "TLS12" => SslProtocols.Tls12,
        "TLS13" => SslProtocols.Tls13,
        "TLS10" or "TLS11" => throw Error(value, "TLS 1.0 and 1.1 are not offered; the lowest version is TLS12"),
        string other => throw Error(value, $"the TLS version \"{other}\" is none of TLS12, TLS13"),
    };

    private static YamlSubset.Mapping Map(YamlSubset.Node node, string key) =>
        node as YamlSubset.Mapping ?? (node is YamlSubset.Scalar { Value: "" } ? new YamlSubset.Mapping(node.Line, []) : throw Error(node, $"{key} must hold keys and values"));

    private static IReadOnlyList<YamlSubset.Node> Items(YamlSubset.Node node, string key) =>
        node is YamlSubset.Sequence sequence ? sequence.Items : throw Error(node, $"{key} must be a list");

    private static string Scalar(YamlSubset.Node node, string key) =>
        node is YamlSubset.Scalar scalar ? scalar.Value : throw Error(node, $"{key} must be a single value");

    private static bool Bool(YamlSubset.Node node, string key) => Scalar(node, key) switch
    {
        "true" => true,
        "false" => false,
        string other => throw Error(node, $"{key} must be true or false, not \"{other}\""),
    };

    private static FormatException Error(YamlSubset.Node node, string problem) => new($"line {node.Line}: {problem}");

    private static EnvironmentException Problem(string path, string problem, string? fix = null) =>
        new($"--web-config-file {Text.Escape(path)}: {problem}", fix ?? "The format is that of Prometheus exporters' web configuration files (see README).");

    /// <summary>Whether a client certificate chains to one of the client CAs and, if SANs are listed, names one of them.</summary>
    internal bool AcceptsClient(X509Certificate2 client)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ClientCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2")); // client authentication
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
