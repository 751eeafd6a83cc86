using CsCheck;
using KvmStat.Exporter;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>The web configuration file as operators write it for Prometheus exporters, and every way it can be wrong.</summary>
public class WebConfigTests : IDisposable
{
    /// <summary>The bcrypt hash of "secret" (cost 4: quick for tests), in htpasswd's $2y$ form.</summary>
    internal static readonly string SecretHash = "$2y$" + BCrypt.Net.BCrypt.HashPassword("secret", 4)[4..];

    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    private string Write(string yaml)
    {
        string path = Path.Join(_pki.Folder, "web.yml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void ReadsTheExporterToolkitFormat()
    {
        WebConfig config = WebConfig.Load(Write($"""
            # TLS with client certificates, two users, headers.
            tls_server_config:
              cert_file: server.crt     # relative to this file
              key_file: "server.key"
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: 'ca.crt'
              client_allowed_sans: [scraper, "other"]
              min_version: TLS13
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              alice: {SecretHash}
              "bob": '{SecretHash}'
            """), TimeProvider.System);
        TlsServerConfig tls = Assert.IsType<TlsServerConfig>(config.Tls);
        Assert.True(config.UsesTls);
        Assert.Equal(TlsServerConfig.ClientAuth.RequireAndVerifyClientCert, tls.ClientAuthType);
        Assert.Single(tls.ClientCas);
        Assert.Equal(["scraper", "other"], tls.ClientAllowedSans);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, tls.Protocols);
        Assert.False(config.Http2);
        Assert.Equal([("X-Frame-Options", "deny"), ("Strict-Transport-Security", "max-age=31536000")], config.Headers);
        Assert.Equal(["alice", "bob"], config.Users.Keys.Order());
        Assert.True(tls.AcceptsClient(_pki.ClientCertificate));
        Assert.False(tls.AcceptsClient(_pki.StrangerCertificate));
        Assert.False(tls.AcceptsClient(_pki.ServerCertificate)); // no client-authentication usage
    }

    /// <summary>
    /// Every field the exporter-toolkit accepts: inline certificate, key and client CA, the older
    /// RequireClientCert, cipher suites, curves, server preference, old TLS versions, rate_limit, a
    /// $2$ hash. What cannot be honoured as written is said in a note.
    /// </summary>
    [Fact]
    public async Task ReadsEveryFieldTheExporterToolkitAccepts()
    {
        static string Indented(string pem) => string.Join("\n", pem.Trim().Split('\n').Select(l => "    " + l));
        string old = "$2$" + BCrypt.Net.BCrypt.HashPassword("secret", 4)[4..];
        var time = new ManualTime();
        WebConfig config = WebConfig.Load(Write($"""
            tls_server_config:
              cert: |
            {Indented(File.ReadAllText(Path.Join(_pki.Folder, "server.crt")))}
              key: |
            {Indented(File.ReadAllText(Path.Join(_pki.Folder, "server.key")))}
              client_ca: |
            {Indented(File.ReadAllText(Path.Join(_pki.Folder, "ca.crt")))}
              client_auth_type: RequireClientCert
              cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
              prefer_server_cipher_suites: false
              curve_preferences: [X25519, CurveP256]
              min_version: TLS10
            rate_limit:
              interval: 1m30s
              burst: 3
            basic_auth_users:
              old: "{old}"
            """), time);
        TlsServerConfig tls = Assert.IsType<TlsServerConfig>(config.Tls);
        Assert.Equal(_pki.ServerCertificate.Thumbprint, tls.Certificate.Thumbprint);
        Assert.Single(tls.ClientCas);
        Assert.Equal(TlsServerConfig.ClientAuth.RequireAnyClientCert, tls.ClientAuthType);
        Assert.NotNull(tls.CipherSuites);
        Assert.True(tls.Protocols.HasFlag(System.Security.Authentication.SslProtocols.Tls12));
        Assert.Equal((TimeSpan.FromSeconds(90), 3), (config.RateLimit!.Interval, config.RateLimit.Burst));
        // The bucket runs on the exporter's clock: a token comes back when that clock says 90 s went by.
        Assert.Equal([true, true, true, false], Enumerable.Range(0, 4).Select(_ => config.RateLimit.TryTake()));
        time.Advance(TimeSpan.FromSeconds(89));
        Assert.False(config.RateLimit.TryTake());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(config.RateLimit.TryTake());
        Assert.Contains(config.Notes, n => n.StartsWith("cipher_suites: applied to TLS 1.2 and below", StringComparison.Ordinal));
        Assert.Contains(config.Notes, n => n.StartsWith("curve_preferences (X25519, CurveP256): not applied", StringComparison.Ordinal));
        Assert.Equal(AuthResult.Accepted, await config.Auth.AcceptsAsync("Basic " + Convert.ToBase64String("old:secret"u8.ToArray()), () => 1, CancellationToken.None));
    }

    /// <summary>A client CA file that holds an intermediate only: its clients are let in (every CA given is a trust anchor, as in Go), the root's others are not.</summary>
    [Fact]
    public void AnIntermediateInTheClientCaFileIsATrustAnchor()
    {
        WebConfig config = WebConfig.Load(Write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" +
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: intermediate.crt\n  client_allowed_sans: [scraper]\n"), TimeProvider.System);
        TlsServerConfig tls = Assert.IsType<TlsServerConfig>(config.Tls);
        Assert.True(tls.AcceptsClient(_pki.IntermediateClientCertificate));
        Assert.False(tls.AcceptsClient(_pki.ClientCertificate));
        Assert.False(tls.AcceptsClient(_pki.StrangerCertificate));
    }

    /// <summary>client_allowed_sans match every kind of SAN the exporter-toolkit matches: DNS name, e-mail address, IP address, URI.</summary>
    [Theory]
    [InlineData("scraper", true)]
    [InlineData("scraper@example.org", true)]
    [InlineData("192.0.2.7", true)]
    [InlineData("spiffe://example.org/scraper", true)]
    [InlineData("spiffe://example.org/other", false)]
    public void AllowedSansMatchEveryKindOfName(string san, bool accepted)
    {
        WebConfig config = WebConfig.Load(Write("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" +
            $"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [\"{san}\"]\n"), TimeProvider.System);
        Assert.Equal(accepted, config.Tls!.AcceptsClient(_pki.ClientCertificate));
    }

    [Fact]
    public void AnEmptyFileServesPlainHttpAsBefore()
    {
        WebConfig config = WebConfig.Load(Write("# nothing configured\n"), TimeProvider.System);
        Assert.False(config.UsesTls);
        Assert.Empty(config.Users);
    }

    [Theory]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n", "line 1: tls_server_config needs both cert_file and key_file")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: ca.crt\n", "cannot be loaded")]
    [InlineData("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "missing.crt")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Sometimes\n", "line 4: client_auth_type \"Sometimes\" is none of")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RC4]\n", "line 4: unknown cipher \"TLS_RC4\"")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [P256]\n", "line 4: unknown curve \"P256\"")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS09\n", "line 4: the TLS version \"TLS09\" is none of")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n  client_allowed_sans: [scraper]\n",
        "line 1: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")]
    [InlineData("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_allowed_sans: [scraper]\n",
        "client_allowed_sans needs client_auth_type RequireAndVerifyClientCert")]
    [InlineData("http_server_config:\n  headers:\n    Content-Security-Policy: \"default-src\\u0001\"\n", "line 3: the value of Content-Security-Policy holds a control or non-ASCII character")]
    [InlineData("http_server_config:\n  headers:\n    X-XSS-Protection: \"1; r\u00e9port\"\n", "line 3: the value of X-XSS-Protection holds a control or non-ASCII character")]
    [InlineData("rate_limit:\n  interval: soon\n  burst: 2\n", "line 2: rate_limit.interval \"soon\" is no duration")]
    [InlineData("basic_auth_users:\n  alice: secret\n", "line 2: the password of user \"alice\" is not a bcrypt hash")]
    [InlineData("http_server_config:\n  headers:\n    Server: kvm\n", "line 3: the header Server cannot be set")]
    [InlineData("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "X-Content-Type-Options must be nosniff")]
    [InlineData("web_config:\n  x: 1\n", "line 1: unknown key web_config")]
    [InlineData("basic_auth_users:\n\talice: x\n", "found invalid tab as indentation")]
    [InlineData("basic_auth_users:\n  alice: *nothing\n", "line 2: the alias *nothing names no anchor")]
    [InlineData("basic_auth_users:\n  alice: \"$2y$03$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0\"\n", "line 2: the password hash of user \"alice\" has the bcrypt cost 3, outside 4 to 31")]
    [InlineData("basic_auth_users:\n  alice: \"$2y$32$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0\"\n", "the bcrypt cost 32, outside 4 to 31")]
    [InlineData("basic_auth_users:\n  alice: a\n  alice: b\n", "line 3: the key \"alice\" appears twice")]
    [InlineData("- a\n- b\n", "must be a mapping")]
    public void AMistakeIsAnErrorNamingItsLine(string yaml, string expected)
    {
        var e = Assert.Throws<EnvironmentException>(() => WebConfig.Load(Write(yaml), TimeProvider.System));
        Assert.StartsWith($"--web-config-file {Path.Join(_pki.Folder, "web.yml")}: ", e.Message);
        Assert.True(e.Message.Contains(expected), e.Message);
        Assert.NotNull(e.Fix);
    }

    /// <summary>A certificate or key that cannot be had is said in plain words, with the file's fix where the file is the cause.</summary>
    [Theory]
    [InlineData("cert_file: missing.crt\n  key_file: server.key", "line 1: the certificate {0}/missing.crt with the key {0}/server.key cannot be loaded: no such file", true)]
    [InlineData("cert_file: server.crt\n  key_file: chain.key", "line 1: the certificate {0}/server.crt with the key {0}/chain.key cannot be loaded: the key is not the certificate's", false)]
    [InlineData("cert_file: /dev/zero\n  key_file: server.key", "line 1: the certificate /dev/zero with the key {0}/server.key cannot be loaded: is not a regular file (a device or socket, or a FIFO)", true)]
    [InlineData("cert_file: server.crt\n  key_file: key.fifo", "line 1: the certificate {0}/server.crt with the key {0}/key.fifo cannot be loaded: is not a regular file (a device or socket, or a FIFO)", true)]
    [InlineData("cert_file: large.crt\n  key_file: server.key", "line 1: the certificate {0}/large.crt with the key {0}/server.key cannot be loaded: is larger than 4 MiB", true)]
    [InlineData("cert_file: server.sock\n  key_file: server.key", "line 1: the certificate {0}/server.sock with the key {0}/server.key cannot be loaded: is not a regular file (a device or socket, or a FIFO)", true)]
    public void AnUnloadableCertificateIsSaidPlainly(string files, string said, bool fileFix)
    {
        said = string.Format(System.Globalization.CultureInfo.InvariantCulture, said, _pki.Folder);
        // A device would fill memory, a FIFO nobody writes to would hold the start for ever.
        if (!File.Exists(Path.Join(_pki.Folder, "key.fifo")))
            Assert.Equal(0, ChildProcess.Run("mkfifo", [Path.Join(_pki.Folder, "key.fifo")], TimeSpan.FromSeconds(30)).Code);
        File.WriteAllText(Path.Join(_pki.Folder, "large.crt"), new string('A', ConfigFile.MaxBytes + 1));
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        if (!File.Exists(Path.Join(_pki.Folder, "server.sock")))
            socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Join(_pki.Folder, "server.sock")));
        string yaml = $"tls_server_config:\n  {files}\n";
        var e = Assert.Throws<EnvironmentException>(() => WebConfig.Load(Write(yaml), TimeProvider.System));
        Assert.Equal($"--web-config-file {Path.Join(_pki.Folder, "web.yml")}: {said}", e.Message);
        Assert.Equal(fileFix, e.Fix!.StartsWith("Check that the files it names exist", StringComparison.Ordinal));
    }

    /// <summary>Paths as the exporter-toolkit takes them: absolute ones as they are (as deployments write them), relative ones from the file's folder.</summary>
    [Fact]
    public void AbsolutePathsStayAndRelativeOnesAreFromTheFilesFolder()
    {
        string conf = Directory.CreateDirectory(Path.Join(_pki.Folder, "conf")).FullName;
        string path = Path.Join(conf, "web.yml");
        File.WriteAllText(path, $"tls_server_config:\n  cert_file: {Path.Join(_pki.Folder, "server.crt")}\n  key_file: ../server.key\n");
        WebConfig config = WebConfig.Load(path, TimeProvider.System);
        Assert.True(config.UsesTls);
        Assert.Equal([path, Path.Join(_pki.Folder, "server.crt"), Path.Join(conf, "../server.key")], config.Files);
    }

    /// <summary>YAML as a full parser reads it (what the exporter-toolkit accepts): flow mappings, anchors, merges, block scalars, documents, nulls.</summary>
    [Fact]
    public void ReadsAnyYamlTheExporterToolkitAccepts()
    {
        WebConfig config = WebConfig.Load(Write($$"""
            ---
            tls_server_config: {cert_file: server.crt, key_file: server.key,
                                client_allowed_sans: ~, client_auth_type: ""}
            http_server_config:
              http2: no
              headers: &headers
                X-Frame-Options: >-
                  deny
            basic_auth_users:
              alice: &hash '{{SecretHash}}'
              ? bob
              : *hash
            ...
            ---
            ignored: second document
            """), TimeProvider.System);
        Assert.True(config.UsesTls);
        Assert.False(config.Http2);
        Assert.Equal([("X-Frame-Options", "deny")], config.Headers);
        Assert.Equal(["alice", "bob"], config.Users.Keys.Order());
        Assert.Equal(TlsServerConfig.ClientAuth.NoClientCert, config.Tls!.ClientAuthType);
    }

    /// <summary>Aliases that expand a billion times are an error at once, not a tree that fills memory.</summary>
    [Fact]
    public void AliasesThatExpandWithoutEndAreAnError()
    {
        var yaml = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
            yaml.Append(System.Globalization.CultureInfo.InvariantCulture, $"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<EnvironmentException>(() => WebConfig.Load(Write(yaml.ToString()), TimeProvider.System));
        Assert.Contains("aliases that expand without end", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    /// <summary>A TLS section that names nothing serves plain HTTP, as the exporter-toolkit does.</summary>
    [Fact]
    public void AnEmptyTlsSectionServesPlainHttp() => Assert.False(WebConfig.Load(Write("tls_server_config:\n  cert_file: \"\"\n"), TimeProvider.System).UsesTls);

    [Fact]
    public void AFileThatCannotBeReadIsNamed()
    {
        var e = Assert.Throws<EnvironmentException>(() => WebConfig.Load(Path.Join(_pki.Folder, "absent.yml"), TimeProvider.System));
        Assert.Contains("absent.yml: cannot be read", e.Message);
        e = Assert.Throws<EnvironmentException>(() => WebConfig.Load(_pki.Folder, TimeProvider.System));
        Assert.EndsWith(": is a folder, not a file", e.Message.TrimEnd('.'));
        e = Assert.Throws<EnvironmentException>(() => WebConfig.Load("/dev/zero", TimeProvider.System));
        Assert.EndsWith(": is not a regular file or a pipe (a device or socket)", e.Message.TrimEnd('.'));
    }

    /// <summary>Any text: a configuration or an error with a line, never another exception.</summary>
    [Fact]
    public void AnyTextIsAConfigurationOrAnError()
    {
        Gen<string> token = Gen.OneOf(
            Gen.Const("basic_auth_users:"), Gen.Const("http_server_config:"), Gen.Const("headers:"), Gen.Const("http2: "),
            Gen.Const("\n"), Gen.Const("\n  "), Gen.Const("\n    "), Gen.Const("- "), Gen.Const("[a, 'b']"), Gen.Const("\"x\\\"y\""),
            Gen.Const("'it''s'"), Gen.Const(" # c"), Gen.Const("{"), Gen.Const("\t"), Gen.Const("alice: "), Gen.Const(SecretHash),
            Gen.String[Gen.Char["abc:-'\"#[]{} \\"], 0, 6]);
        token.Array[0, 30].Sample(tokens =>
        {
            string path = Path.Join(_pki.Folder, $"fuzz-{Guid.NewGuid():N}.yml");
            File.WriteAllText(path, string.Concat(tokens));
            try
            {
                WebConfig.Load(path, TimeProvider.System);
            }
            catch (EnvironmentException e)
            {
                Assert.Contains(": line ", e.Message);
            }
        }, iter: 2000);
    }
}
