using System.Net.Security;
using System.Security.Authentication;

namespace KvmStat.Exporter;

/// <summary>
/// The keys of tls_server_config as written (paths made absolute), before anything is checked or
/// loaded: every key the exporter-toolkit reads is taken, with the toolkit's names and spellings.
/// What cannot be honoured exactly here is named in <see cref="Notes"/>, one line each.
/// </summary>
internal sealed class TlsKeys
{
    /// <summary>The suites Go's tls.CipherSuites() names (the only ones the toolkit accepts); TLS 1.3's cannot be chosen there.</summary>
    private static readonly string[] s_goCipherSuites =
    [
        "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ];

    private static readonly string[] s_curves = ["CurveP256", "CurveP384", "CurveP521", "X25519", "X25519MLKEM768"];

#pragma warning disable SYSLIB0039 // TLS 1.0 and 1.1: offered only when the configuration asks and OpenSSL allows them
    /// <summary>The toolkit's version names, lowest first; <see cref="Min"/> and <see cref="Max"/> index this.</summary>
    internal static readonly (string Name, SslProtocols Protocol)[] Versions =
        [("TLS10", SslProtocols.Tls), ("TLS11", SslProtocols.Tls11), ("TLS12", SslProtocols.Tls12), ("TLS13", SslProtocols.Tls13)];
#pragma warning restore SYSLIB0039

    internal string? CertFile, KeyFile, CaFile, Cert, Key, Ca;
    internal TlsServerConfig.ClientAuth ClientAuth = TlsServerConfig.ClientAuth.NoClientCert;
    internal List<string> Sans = [];
    internal int Min = 2, Max = 3;
    internal List<TlsCipherSuite>? Ciphers;
    internal List<string> Notes = [];

    /// <summary>Whether the section names nothing at all (as the exporter-toolkit: plain HTTP then).</summary>
    internal bool IsEmpty => CertFile is null && Cert is null && KeyFile is null && Key is null && CaFile is null && Ca is null
        && ClientAuth == TlsServerConfig.ClientAuth.NoClientCert;

    /// <summary>Reads the section's keys; relative paths are from <paramref name="folder"/> (the file's).</summary>
    internal static TlsKeys Read(YamlTree.Mapping section, string folder)
    {
        var keys = new TlsKeys();
        foreach ((string key, YamlTree.Node value) in section.Entries)
        {
            switch (key)
            {
                case "cert_file": keys.CertFile = PathOrNull(value, key, folder); break;
                case "key_file": keys.KeyFile = PathOrNull(value, key, folder); break;
                case "client_ca_file": keys.CaFile = PathOrNull(value, key, folder); break;
                case "cert": keys.Cert = TextOrNull(value, key); break;
                case "key": keys.Key = TextOrNull(value, key); break;
                case "client_ca": keys.Ca = TextOrNull(value, key); break;
                case "client_auth_type": keys.ClientAuth = ReadClientAuth(value); break;
                case "client_allowed_sans": keys.Sans = [.. value.AsList(key).Select(item => item.AsText(key))]; break;
                case "min_version": keys.Min = Version(value); break;
                case "max_version": keys.Max = Version(value); break;
                case "cipher_suites": keys.Ciphers = [.. value.AsList(key).Select(CipherSuite)]; break;
                case "curve_preferences":
                    List<string> curves = [.. value.AsList(key).Select(Curve)];
                    if (curves.Count > 0)
                        keys.Notes.Add($"curve_preferences ({string.Join(", ", curves)}): not applied, .NET cannot choose curves; the key exchange uses the groups this system's OpenSSL offers by default");
                    break;
                case "prefer_server_cipher_suites":
                    // Go ignores it since 1.18 (the server always weighs its own order with the client's): so does OpenSSL here.
                    value.AsBool(key);
                    break;
                default:
                    throw value.Error($"unknown key tls_server_config.{key} (kvm_stat reads cert_file, key_file, cert, key, client_auth_type, " +
                        "client_ca_file, client_ca, client_allowed_sans, min_version, max_version, cipher_suites, prefer_server_cipher_suites and curve_preferences)");
            }
        }
        return keys;
    }

    private static TlsServerConfig.ClientAuth ReadClientAuth(YamlTree.Node value)
    {
        string type = value.AsText("client_auth_type");
        if (type.Length == 0)
            return TlsServerConfig.ClientAuth.NoClientCert;
        // RequireClientCert: the toolkit's older name of RequireAnyClientCert.
        if (type == "RequireClientCert")
            return TlsServerConfig.ClientAuth.RequireAnyClientCert;
        return Enum.TryParse(type, ignoreCase: false, out TlsServerConfig.ClientAuth parsed) && Enum.IsDefined(parsed) && !char.IsAsciiDigit(type[0])
            ? parsed
            : throw value.Error($"client_auth_type \"{Text.Escape(type)}\" is none of {string.Join(", ", Enum.GetNames<TlsServerConfig.ClientAuth>())}, RequireClientCert");
    }

    private static TlsCipherSuite CipherSuite(YamlTree.Node node)
    {
        string name = node.AsText("cipher_suites");
        return s_goCipherSuites.Contains(name, StringComparer.Ordinal) && Enum.TryParse(name, ignoreCase: false, out TlsCipherSuite suite)
            ? suite
            : throw node.Error($"unknown cipher \"{Text.Escape(name)}\" (Go's names, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)");
    }

    private static string Curve(YamlTree.Node node)
    {
        string name = node.AsText("curve_preferences");
        return s_curves.Contains(name, StringComparer.Ordinal) ? name : throw node.Error($"unknown curve \"{Text.Escape(name)}\" (one of {string.Join(", ", s_curves)})");
    }

    private static int Version(YamlTree.Node value)
    {
        string name = value.AsText("version");
        int index = Array.FindIndex(Versions, v => v.Name == name);
        return index >= 0 ? index : throw value.Error($"the TLS version \"{Text.Escape(name)}\" is none of TLS10, TLS11, TLS12, TLS13");
    }

    /// <summary>A path as the exporter-toolkit takes it: absolute as it is, relative from the file's folder; null where empty.</summary>
    private static string? PathOrNull(YamlTree.Node value, string key, string folder) =>
        value.AsText(key) is { Length: > 0 } path ? (Path.IsPathRooted(path) ? path : Path.Join(folder, path)) : null;

    private static string? TextOrNull(YamlTree.Node value, string key) => value.AsText(key) is { Length: > 0 } text ? text : null;
}
