using System.Globalization;
using System.Text.RegularExpressions;

namespace KvmStat.Exporter;

/// <summary>
/// --web-config-file: the web configuration of Prometheus exporters (the exporter-toolkit format
/// operators already have): tls_server_config (<see cref="TlsServerConfig"/>: certificate and key,
/// client certificates and their CA, TLS versions, cipher suites), basic_auth_users (bcrypt hashes),
/// http_server_config (http2, headers) and rate_limit. The whole file is read and checked before the server
/// listens: a mistake is an error at start, never a server that runs without what the file asks
/// for. A configuration is never changed once read; <see cref="WebConfigReloader"/> swaps in a new one.
/// </summary>
internal sealed partial class WebConfig
{
    /// <summary>The response headers the toolkit lets a file set, with the values it allows (null: any).</summary>
    private static readonly Dictionary<string, string[]?> s_headers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Strict-Transport-Security"] = null,
        ["Content-Security-Policy"] = null,
        ["X-Frame-Options"] = ["deny", "sameorigin"],
        ["X-Content-Type-Options"] = ["nosniff"],
        ["X-XSS-Protection"] = null,
    };

    /// <summary>The TLS the server speaks; null for plain HTTP.</summary>
    internal TlsServerConfig? Tls { get; private init; }

    /// <summary>The files this configuration was read from (itself, then those of <see cref="Tls"/>): a change to any is a reason to reload.</summary>
    internal IReadOnlyList<string> Files { get; private init; } = [];

    internal bool Http2 { get; private init; } = true;

    /// <summary>The response headers set (settable by tests, to see what a header the checks would refuse does to a request).</summary>
    internal IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    /// <summary>rate_limit, or null.</summary>
    internal TokenBucket? RateLimit { get; private init; }

    /// <summary>Lines naming what of the file is honoured otherwise than it says (said at start and at each reload).</summary>
    internal IReadOnlyList<string> Notes { get; private init; } = [];

    /// <summary>User name → bcrypt hash.</summary>
    internal IReadOnlyDictionary<string, string> Users { get; private init; } = new Dictionary<string, string>();

    internal bool UsesTls => Tls is not null;

    /// <summary>Checks basic_auth_users' passwords; made with the configuration, so a reload starts it anew.</summary>
    internal BasicAuth Auth { get; private init; } = new(new Dictionary<string, string>());

    [GeneratedRegex(@"^\$2[abxy]?\$(?<cost>[0-9]{2})\$[./A-Za-z0-9]{53}$")]
    private static partial Regex BcryptHash();

    /// <summary>bcrypt's cost is 2^cost rounds; the format allows 4 to 31 (a cost of 31 takes days per check).</summary>
    internal const int MinBcryptCost = 4, MaxBcryptCost = 31;

    /// <param name="time">The clock of <c>rate_limit</c>'s bucket.</param>
    /// <param name="reload">Read again while serving: a pipe, read once at start, is refused then, never waited on.</param>
    internal static WebConfig Load(string path, TimeProvider time, bool reload = false)
    {
        string text;
        try
        {
            text = ConfigFile.ReadText(path, pipe: !reload);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Problem(path, e is FileNotFoundException or UnauthorizedAccessException ? $"cannot be read: {e.Message}" : e.Message, "Check the path given to --web-config-file.");
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
            return FromMapping(root, folder, Path.GetFullPath(path), time);
        }
        catch (WebConfigFileException e)
        {
            throw Problem(path, e.Message, "Check that the files it names exist and that the user kvm_stat runs as can read them (the exporter's unit runs as a user of its own).");
        }
        catch (FormatException e)
        {
            throw Problem(path, e.Message);
        }
    }

    private static WebConfig FromMapping(YamlTree.Mapping root, string folder, string file, TimeProvider time)
    {
        TlsServerConfig? tls = null;
        (bool Http2, List<(string, string)> Headers) http = (true, []);
        Dictionary<string, string> users = new(StringComparer.Ordinal);
        TokenBucket? rateLimit = null;
        var notes = new List<string>();
        foreach ((string key, YamlTree.Node value) in root.Entries)
        {
            switch (key)
            {
                case "tls_server_config":
                    tls = TlsServerConfig.Read(value.AsMapping(key), folder);
                    break;
                case "http_server_config":
                    http = ReadHttp(value.AsMapping(key));
                    break;
                case "basic_auth_users":
                    users = ReadUsers(value.AsMapping(key));
                    break;
                case "rate_limit":
                    rateLimit = ReadRateLimit(value.AsMapping(key), notes, time);
                    break;
                default:
                    throw value.Error($"unknown key {key} (kvm_stat reads tls_server_config, http_server_config, basic_auth_users and rate_limit)");
            }
        }
        if (tls is null && users.Count > 0)
            notes.Add("basic_auth_users without tls_server_config: passwords cross the network unencrypted");
        return new WebConfig
        {
            Tls = tls,
            Http2 = http.Http2,
            Headers = http.Headers,
            Users = users,
            Auth = new BasicAuth(users),
            RateLimit = rateLimit,
            Notes = [.. tls?.Notes ?? [], .. notes],
            Files = [file, .. tls?.Files ?? []],
        };
    }

    /// <summary>http_server_config: whether HTTP/2 is offered, and the response headers (only those the toolkit allows).</summary>
    private static (bool Http2, List<(string, string)> Headers) ReadHttp(YamlTree.Mapping section)
    {
        bool http2 = true;
        var headers = new List<(string, string)>();
        foreach ((string setting, YamlTree.Node node) in section.Entries)
        {
            switch (setting)
            {
                case "http2":
                    http2 = node.AsBool(setting);
                    break;
                case "headers":
                    foreach ((string name, YamlTree.Node header) in node.AsMapping(setting).Entries)
                    {
                        if (Header(name, header) is { } set)
                            headers.Add(set);
                    }
                    break;
                default:
                    throw node.Error($"unknown key http_server_config.{setting} (kvm_stat reads http2 and headers)");
            }
        }
        return (http2, headers);
    }

    /// <summary>
    /// A response header the toolkit lets a file set; a blank value sets none. Values are checked
    /// here, not when a response is written: a control or non-ASCII character would fail every request.
    /// </summary>
    private static (string, string)? Header(string name, YamlTree.Node header)
    {
        string text = header.AsText(name);
        if (!s_headers.TryGetValue(name, out string[]? allowed))
            throw header.Error($"the header {name} cannot be set (allowed: {string.Join(", ", s_headers.Keys)})");
        if (text.Length == 0)
            return null;
        if (allowed is not null && !allowed.Contains(text, StringComparer.OrdinalIgnoreCase))
            throw header.Error($"{name} must be {string.Join(" or ", allowed)}");
        if (text.Any(c => c is (< ' ' and not '\t') or > '~'))
            throw header.Error($"the value of {name} holds a control or non-ASCII character (an HTTP header value is printable ASCII)");
        if (text.Length > 4096)
            throw header.Error($"the value of {name} is longer than 4096 characters");
        return (name, text);
    }

    /// <summary>
    /// basic_auth_users: user name → bcrypt hash, of a cost bcrypt allows; $2$ (bcrypt's first
    /// version) is checked as $2a$, as the toolkit's Go bcrypt does.
    /// </summary>
    private static Dictionary<string, string> ReadUsers(YamlTree.Mapping section)
    {
        var users = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string user, YamlTree.Node hash) in section.Entries)
        {
            string text = hash.AsText(user);
            Match match = BcryptHash().Match(text);
            if (!match.Success)
                throw hash.Error($"the password of user \"{user}\" is not a bcrypt hash (make one with: htpasswd -nBC 10 \"\" | tr -d ':')");
            int cost = int.Parse(match.Groups["cost"].ValueSpan, CultureInfo.InvariantCulture);
            if (cost is < MinBcryptCost or > MaxBcryptCost)
                throw hash.Error($"the password hash of user \"{user}\" has the bcrypt cost {cost}, outside {MinBcryptCost} to {MaxBcryptCost}");
            users[user] = text.StartsWith("$2$", StringComparison.Ordinal) ? "$2a$" + text[3..] : text;
        }
        return users;
    }

    /// <summary>rate_limit: interval (a Go duration; 0 turns it off) and burst.</summary>
    private static TokenBucket? ReadRateLimit(YamlTree.Mapping section, List<string> notes, TimeProvider time)
    {
        TimeSpan interval = TimeSpan.Zero;
        int burst = 0;
        foreach ((string key, YamlTree.Node value) in section.Entries)
        {
            string text = value.AsText(key);
            switch (key)
            {
                case "interval":
                    if (!GoDuration.TryParse(text, out interval))
                        throw value.Error($"rate_limit.interval \"{Text.Escape(text)}\" is no duration (like 1s, 250ms, 1m30s)");
                    break;
                case "burst":
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out burst))
                        throw value.Error($"rate_limit.burst \"{Text.Escape(text)}\" is no count");
                    break;
                default:
                    throw value.Error($"unknown key rate_limit.{key} (kvm_stat reads interval and burst)");
            }
        }
        if (interval == TimeSpan.Zero)
            return null;
        if (burst == 0)
            notes.Add("rate_limit: burst 0 lets no request through (as in the exporter-toolkit): every request is answered 429");
        return new TokenBucket(interval, burst, time);
    }

    private static EnvironmentException Problem(string path, string problem, string? fix = null) =>
        new($"--web-config-file {Text.Escape(path)}: {problem}", fix ?? "The format is that of Prometheus exporters' web configuration files (see README).");
}
