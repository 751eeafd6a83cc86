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

    /// <summary>The response headers set (settable by tests, to see what a header the checks would refuse does to a request).</summary>
    internal IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    /// <summary>cipher_suites (for TLS 1.2 and below, TLS 1.3's own added), or null for OpenSSL's defaults.</summary>
    internal CipherSuitesPolicy? CipherSuites { get; private init; }

    /// <summary>rate_limit, or null.</summary>
    internal TokenBucket? RateLimit { get; private init; }

    /// <summary>Lines naming what of the file is honoured otherwise than it says (said at start and at each reload).</summary>
    internal IReadOnlyList<string> Notes { get; private init; } = [];

    /// <summary>User name → bcrypt hash.</summary>
    internal IReadOnlyDictionary<string, string> Users { get; private init; } = new Dictionary<string, string>();

    internal bool UsesTls => Certificate is not null;

    /// <summary>Checks basic_auth_users' passwords; made with the configuration, so a reload starts it anew.</summary>
    internal BasicAuth Auth { get; private init; } = new(new Dictionary<string, string>());

    /// <summary>The bcrypt hash of a user's password, or null for a user not configured.</summary>
    internal string? HashOf(string user) => Users.TryGetValue(user, out string? hash) ? hash : null;

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
        TlsSection.Settings? tls = null;
        bool http2 = true;
        var headers = new List<(string, string)>();
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        TokenBucket? rateLimit = null;
        var notes = new List<string>();

        foreach ((string key, YamlTree.Node value) in root.Entries)
        {
            switch (key)
            {
                case "tls_server_config":
                    tls = TlsSection.Read(Map(value, key), folder);
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
                                    if (Header(name, header) is { } set)
                                        headers.Add(set);
                                }
                                break;
                            default:
                                throw Error(node, $"unknown key http_server_config.{setting} (kvm_stat reads http2 and headers)");
                        }
                    }
                    break;
                case "basic_auth_users":
                    foreach ((string user, YamlTree.Node hash) in Map(value, key).Entries)
                        users[user] = BcryptHashOf(user, hash);
                    break;
                case "rate_limit":
                    rateLimit = ReadRateLimit(Map(value, key), notes);
                    break;
                default:
                    throw Error(value, $"unknown key {key} (kvm_stat reads tls_server_config, http_server_config, basic_auth_users and rate_limit)");
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
            CipherSuites = tls?.Ciphers,
            Http2 = http2,
            Headers = headers,
            Users = users,
            Auth = new BasicAuth(users),
            RateLimit = rateLimit,
            Notes = [.. tls?.Notes ?? [], .. notes],
            Files = [file, .. tls?.Files ?? []],
        };
    }

    /// <summary>
    /// A response header the toolkit lets a file set; a blank value sets none. Values are checked
    /// here, not when a response is written: a control or non-ASCII character would fail every request.
    /// </summary>
    private static (string, string)? Header(string name, YamlTree.Node header)
    {
        string text = Scalar(header, name);
        if (!s_headers.TryGetValue(name, out string[]? allowed))
            throw Error(header, $"the header {name} cannot be set (allowed: {string.Join(", ", s_headers.Keys)})");
        if (text.Length == 0)
            return null;
        if (allowed is not null && !allowed.Contains(text, StringComparer.OrdinalIgnoreCase))
            throw Error(header, $"{name} must be {string.Join(" or ", allowed)}");
        if (text.Any(c => c is (< ' ' and not '\t') or > '~'))
            throw Error(header, $"the value of {name} holds a control or non-ASCII character (an HTTP header value is printable ASCII)");
        if (text.Length > 4096)
            throw Error(header, $"the value of {name} is longer than 4096 characters");
        return (name, text);
    }

    /// <summary>A bcrypt hash as the toolkit's Go bcrypt takes it; $2$ (bcrypt's first version) is checked as $2a$, as Go does.</summary>
    private static string BcryptHashOf(string user, YamlTree.Node hash)
    {
        string text = Scalar(hash, user);
        Match match = BcryptHash().Match(text);
        if (!match.Success)
            throw Error(hash, $"the password of user \"{user}\" is not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':')");
        int cost = int.Parse(match.Groups["cost"].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
        if (cost is < MinBcryptCost or > MaxBcryptCost)
            throw Error(hash, $"the password hash of user \"{user}\" has the bcrypt cost {cost}, outside {MinBcryptCost} to {MaxBcryptCost}");
        return text.StartsWith("$2$", StringComparison.Ordinal) ? "$2a$" + text[3..] : text;
    }

    /// <summary>rate_limit: interval (a Go duration; 0 turns it off) and burst.</summary>
    private static TokenBucket? ReadRateLimit(YamlTree.Mapping section, List<string> notes)
    {
        TimeSpan interval = TimeSpan.Zero;
        int burst = 0;
        foreach ((string key, YamlTree.Node value) in section.Entries)
        {
            string text = Scalar(value, key);
            switch (key)
            {
                case "interval":
                    if (!GoDuration.TryParse(text, out interval))
                        throw Error(value, $"rate_limit.interval \"{Text.Escape(text)}\" is no duration (like 1s, 250ms, 1m30s)");
                    break;
                case "burst":
                    if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out burst))
                        throw Error(value, $"rate_limit.burst \"{Text.Escape(text)}\" is no count");
                    break;
                default:
                    throw Error(value, $"unknown key rate_limit.{key} (kvm_stat reads interval and burst)");
            }
        }
        if (interval == TimeSpan.Zero)
            return null;
        if (burst == 0)
            notes.Add("rate_limit: burst 0 lets no request through (as in the exporter-toolkit): every request is answered 429");
        return new TokenBucket(interval, burst, TimeProvider.System);
    }

    /// <summary>A path of the file as the exporter-toolkit takes it: absolute as it is, relative from the file's folder.</summary>
    internal static string Resolve(string folder, string path) => Path.IsPathRooted(path) ? path : Path.Join(folder, path);

    internal static YamlTree.Mapping Map(YamlTree.Node node, string key) =>
        node as YamlTree.Mapping ?? (node is YamlTree.Scalar { IsNull: true } ? new YamlTree.Mapping(node.Line, []) : throw Error(node, $"{key} must hold keys and values"));

    internal static IReadOnlyList<YamlTree.Node> Items(YamlTree.Node node, string key) =>
        node is YamlTree.Sequence sequence ? sequence.Items : node is YamlTree.Scalar { IsNull: true } ? [] : throw Error(node, $"{key} must be a list");

    internal static string Scalar(YamlTree.Node node, string key) =>
        node is YamlTree.Scalar scalar ? scalar.Value : throw Error(node, $"{key} must be a single value");

    // YAML 1.1's spellings too, as the exporter-toolkit's YAML reader takes them.
    internal static bool Bool(YamlTree.Node node, string key) => Scalar(node, key) switch
    {
        "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y" => true,
        "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N" => false,
        string other => throw Error(node, $"{key} must be true or false, not \"{other}\""),
    };

    private static FormatException Error(YamlTree.Node node, string problem) => new($"line {node.Line}: {problem}");

    internal static EnvironmentException Problem(string path, string problem, string? fix = null) =>
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
        if (!chain.Build(client) && !EndsAtAClientCa(chain))
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
    }}
