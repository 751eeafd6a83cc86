using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>The published binary serving metrics over TLS with basic authentication, as --web-config-file asks.</summary>
public class WebConfigEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly IssuerServer _issuer = new();
    private readonly TestCertificates _pki;

    public WebConfigEndToEndTests() => _pki = new TestCertificates(_issuer.Url);

    public void Dispose()
    {
        _pki.Dispose();
        _issuer.Dispose();
    }

    private string ConfigPath => Path.Join(_pki.Folder, "web.yml");

    private (ChildProcess Tool, string Url) Serve(string yaml)
    {
        string config = ConfigPath;
        File.WriteAllText(config, yaml);
        int port = Loopback.FreePort();
        ChildProcess tool = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--web-config-file", config, "--verbose", "-f", "kvm_pio");
        try
        {
            tool.WaitUntilCounting();
        }
        catch
        {
            // No one else holds an exporter that never said it counts.
            tool.Dispose();
            throw;
        }
        return (tool, $"https://127.0.0.1:{port}/metrics");
    }

    /// <summary>A key the exporter's user cannot read (root reads any file: run as nobody) is said as such, with the file's fix.</summary>
    [Fact]
    public void AKeyTheUserCannotReadIsSaidWithTheFilesFix()
    {
        string locked = Path.Join(_pki.Folder, "locked.key");
        File.Copy(Path.Join(_pki.Folder, "server.key"), locked);
        File.WriteAllText(ConfigPath, "tls_server_config:\n  cert_file: server.crt\n  key_file: locked.key\n");
        File.SetUnixFileMode(_pki.Folder, (UnixFileMode)0x1ed);
        foreach (string file in Directory.EnumerateFiles(_pki.Folder))
            File.SetUnixFileMode(file, file == locked ? UnixFileMode.None : (UnixFileMode)0x1a4);
        (int code, _, string error) = ChildProcess.Run("setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", PublishedBinary.Path, "--serve", "127.0.0.1:1", "--web-config-file", ConfigPath], s_timeout);
        Assert.Equal(1, code);
        Assert.Equal($"kvm_stat: error: --web-config-file {ConfigPath}: line 1: the certificate {_pki.Folder}/server.crt with the key {locked} cannot be loaded: permission denied\n" +
            "kvm_stat: Check that the files it names exist and that the user kvm_stat runs as can read them (the exporter's unit runs as a user of its own).", error.TrimEnd('\n'));
    }

    private static HttpRequestMessage Get(string url, string? user, string? password)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (user is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        return request;
    }

    [Fact]
    public async Task TlsAndBasicAuthenticationGuardTheMetrics()
    {
        (ChildProcess tool, string url) = Serve($"""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            http_server_config:
              headers:
                X-Content-Type-Options: nosniff
            basic_auth_users:
              alice: {WebConfigTests.SecretHash}
            """);
        using (tool)
        {
            Assert.Contains(tool.Error.Lines, l => l.Contains($"serving {url} (basic authentication)"));
            using HttpClient client = _pki.HttpsClient();
            CancellationToken cancel = TestContext.Current.CancellationToken;
            using (HttpResponseMessage ok = await client.SendAsync(Get(url, "alice", "secret"), cancel))
            {
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                Assert.Contains("kvm_events_total{event=\"kvm_pio\"}", await ok.Content.ReadAsStringAsync(cancel));
                Assert.Equal("nosniff", ok.Headers.GetValues("X-Content-Type-Options").Single());
            }
            // HTTP/2, which Prometheus negotiates over TLS.
            using (HttpRequestMessage http2 = Get(url, "alice", "secret"))
            {
                http2.Version = HttpVersion.Version20;
                http2.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
                using HttpResponseMessage ok = await client.SendAsync(http2, cancel);
                Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
                Assert.Equal(HttpVersion.Version20, ok.Version);
            }
            // A wrong password, a wrong user, none at all: the same answer, which tells nothing of which.
            var answers = new List<string>();
            foreach ((string? user, string? password) in new[] { ("alice", "wrong"), ("mallory", "secret"), ((string?)null, (string?)null) })
            {
                using HttpResponseMessage denied = await client.SendAsync(Get(url, user, password), cancel);
                Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
                Assert.Equal("Basic realm=\"kvm_stat\"", denied.Headers.WwwAuthenticate.Single().ToString());
                answers.Add(await denied.Content.ReadAsStringAsync(cancel));
            }
            Assert.Single(answers.Distinct());
            // Plain HTTP to the TLS port gets no metrics.
            using HttpClient plain = Loopback.Client();
            await AssertNoAnswer(plain, url.Replace("https:", "http:"), cancel);
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
        }
    }

    [Fact]
    public async Task OnlyClientsWithACertificateOfTheCaGetIn()
    {
        (ChildProcess tool, string url) = Serve("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
              client_allowed_sans: [scraper]
            """);
        using (tool)
        {
            CancellationToken cancel = TestContext.Current.CancellationToken;
            using (HttpClient trusted = _pki.HttpsClient(_pki.ClientCertificate))
                Assert.Contains("kvm_events_total", await trusted.GetStringAsync(url, cancel));
            using (HttpClient anonymous = _pki.HttpsClient())
                await AssertNoAnswer(anonymous, url, cancel);
            using (HttpClient stranger = _pki.HttpsClient(_pki.StrangerCertificate))
                await AssertNoAnswer(stranger, url, cancel);
        }
    }

    /// <summary>cert_file with the certificate and its intermediate: clients that trust only the root get the whole chain.</summary>
    [Fact]
    public async Task AFullChainInCertFileIsServedWhole()
    {
        (ChildProcess tool, string url) = Serve($"tls_server_config:\n  cert_file: {Path.Join(_pki.Folder, "chain.crt")}\n  key_file: chain.key\n");
        using (tool)
        {
            using HttpClient client = _pki.HttpsClient();
            Assert.Contains("kvm_events_total", await client.GetStringAsync(url, TestContext.Current.CancellationToken));
        }
        Assert.Equal(0, _issuer.Requests);
    }

    /// <summary>
    /// A client certificate of an intermediate the server was not given, naming where that
    /// intermediate can be fetched: refused, and nothing fetched (a client never makes the exporter connect anywhere).
    /// </summary>
    [Fact]
    public async Task ClientCertificatesAreVerifiedOffline()
    {
        (ChildProcess tool, string url) = Serve("""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
            """);
        using (tool)
        {
            CancellationToken cancel = TestContext.Current.CancellationToken;
            using (HttpClient fetched = _pki.HttpsClient(_pki.IntermediateClientCertificate))
                await AssertNoAnswer(fetched, url, cancel);
            using (HttpClient trusted = _pki.HttpsClient(_pki.ClientCertificate))
                Assert.Contains("kvm_events_total", await trusted.GetStringAsync(url, cancel));
        }
        Assert.Equal(0, _issuer.Requests);
    }

    /// <summary>
    /// SIGHUP and a changed file reload users and certificate on the same listener; a broken file
    /// keeps the settings in force, says so in one line and in the reload gauge; SIGHUP never ends it.
    /// </summary>
    [Fact]
    public async Task SighupAndChangedFilesReloadWithoutDroppingTheListener()
    {
        string Users(string user) => $"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  {user}: {WebConfigTests.SecretHash}\n";
        (ChildProcess tool, string url) = Serve(Users("alice"));
        using (tool)
        {
            using HttpClient client = _pki.HttpsClient();
            CancellationToken cancel = TestContext.Current.CancellationToken;
            async Task<HttpStatusCode> Status(string user)
            {
                using HttpResponseMessage response = await client.SendAsync(Get(url, user, "secret"), cancel);
                return response.StatusCode;
            }
            async Task<string> Metrics(string user) => await (await client.SendAsync(Get(url, user, "secret"), cancel)).Content.ReadAsStringAsync(cancel);
            Assert.Equal(HttpStatusCode.OK, await Status("alice"));

            File.WriteAllText(ConfigPath, Users("bob"));
            tool.Signal(ChildProcess.SIGHUP);
            await Until(async () => await Status("bob") == HttpStatusCode.OK, "bob let in after SIGHUP");
            Assert.Equal(HttpStatusCode.Unauthorized, await Status("alice"));
            Assert.Contains("kvm_stat_web_config_last_reload_successful 1", await Metrics("bob"));

            File.WriteAllText(ConfigPath, "basic_auth_users:\n  carol: not-a-hash\n");
            tool.Signal(ChildProcess.SIGHUP);
            tool.Error.WaitForLine(l => l.Contains("the web configuration was not reloaded"), s_timeout, "the failed reload named");
            Assert.Equal(HttpStatusCode.OK, await Status("bob"));
            Assert.Contains("kvm_stat_web_config_last_reload_successful 0", await Metrics("bob"));

            // No signal: the changed file is noticed within a second or two.
            File.WriteAllText(ConfigPath, Users("carol"));
            await Until(async () => await Status("carol") == HttpStatusCode.OK, "carol let in after the file changed");
            Assert.Contains("kvm_stat_web_config_last_reload_successful 1", await Metrics("carol"));

            // A renewed certificate (the same files, new contents) is what the next handshake presents.
            File.Copy(Path.Join(_pki.Folder, "chain.crt"), Path.Join(_pki.Folder, "server.crt"), overwrite: true);
            File.Copy(Path.Join(_pki.Folder, "chain.key"), Path.Join(_pki.Folder, "server.key"), overwrite: true);
            string? presented = null;
            using var fresh = new HttpClient(new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.Zero,
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => { presented = certificate?.Issuer; return true; } },
            });
            await Until(async () =>
            {
                await fresh.SendAsync(Get(url, "carol", "secret"), cancel);
                return presented?.Contains("intermediate") == true;
            }, "the renewed certificate presented");

            Assert.Single(tool.Error.Lines, l => l.Contains("not reloaded"));
            Assert.False(tool.HasExited);
            tool.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, tool.WaitForExit(s_timeout));
        }
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > s_timeout)
                throw new TimeoutException(what);
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public void ABadFileStopsTheToolBeforeItListens()
    {
        string config = Path.Join(_pki.Folder, "bad.yml");
        File.WriteAllText(config, "tls_server_config:\n  cert_file: server.crt\n");
        int port = Loopback.FreePort();
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--serve", $"127.0.0.1:{port}", "--web-config-file", config);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.StartsWith($"kvm_stat: error: --web-config-file {config}: line 1: tls_server_config needs both cert_file and key_file", error);
        Assert.Equal(2, error.TrimEnd('\n').Split('\n').Length);
        (code, _, error) = ChildProcess.RunTool(s_timeout, "-1", "--web-config-file", config);
        Assert.Equal(2, code);
        Assert.Contains("goes with --serve", error);
    }

    /// <summary>Whether a process catches SIGHUP (bit 0 of SigCgt in /proc/PID/status).</summary>
    private static bool CatchesHangups(int pid) =>
        File.ReadAllLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigCgt:", StringComparison.Ordinal)) is string line
        && (Convert.ToUInt64(line["SigCgt:".Length..].Trim(), 16) & 1) == 1;

    /// <summary>
    /// SIGHUP as soon as the exporter catches it at all (the first thing it does), while it has not
    /// even read its web configuration (a FIFO the test writes only then): it goes on, and serves.
    /// </summary>
    [Fact]
    public async Task ASighupWhileStartingNeverEndsTheExporter()
    {
        string fifo = Path.Join(_pki.Folder, "web.fifo");
        Assert.Equal(0, ChildProcess.Run("mkfifo", [fifo], s_timeout).Code);
        int port = Loopback.FreePort();
        using ChildProcess tool = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--web-config-file", fifo, "--verbose", "-f", "kvm_pio");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!tool.HasExited && !CatchesHangups(tool.Pid))
        {
            Assert.True(clock.Elapsed < s_timeout, "the exporter never caught SIGHUP");
            Thread.Yield();
        }
        tool.Signal(ChildProcess.SIGHUP);
        // Opening the FIFO to write waits until the exporter opens it to read its configuration.
        CancellationToken cancel = TestContext.Current.CancellationToken;
        Task write = Task.Run(() => File.WriteAllTextAsync(fifo, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n", cancel), cancel);
        Assert.Same(write, await Task.WhenAny(write, Task.Delay(s_timeout, cancel)));
        // A regular file in its place, for the reload that SIGHUP asks for if it came once the exporter handles it itself.
        File.WriteAllText(Path.Join(_pki.Folder, "web.yml"), "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
        File.Move(Path.Join(_pki.Folder, "web.yml"), fifo, overwrite: true);
        Assert.False(tool.HasExited, $"the exporter ended: {tool.Error.Text}");
        tool.WaitUntilCounting();
        using HttpClient client = _pki.HttpsClient();
        Assert.Contains("kvm_events_total", await client.GetStringAsync($"https://127.0.0.1:{port}/metrics", cancel));
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
    }

    /// <summary>
    /// A configuration FIFO whose writer never comes holds the start (as any pipe read would), but
    /// SIGTERM still ends it: the file is read before the exporter takes SIGTERM for its own.
    /// </summary>
    [Fact]
    public void SigtermEndsAStartWaitingOnAConfigurationPipe()
    {
        string fifo = Path.Join(_pki.Folder, "never.fifo");
        Assert.Equal(0, ChildProcess.Run("mkfifo", [fifo], s_timeout).Code);
        using ChildProcess tool = ChildProcess.StartTool("--serve", $"127.0.0.1:{Loopback.FreePort()}", "--web-config-file", fifo, "-f", "kvm_pio");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Waiting for the FIFO's writer, in the kernel's words.
        while (!tool.HasExited && File.ReadAllText($"/proc/{tool.Pid}/wchan") != "wait_for_partner")
        {
            Assert.True(clock.Elapsed < s_timeout, "the exporter never opened its configuration");
            Thread.Yield();
        }
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(128 + 15, tool.WaitForExit(s_timeout));
    }

    /// <summary>The server gives no HTTP answer at all (the handshake refused, the connection closed): not a 401 or 500 either.</summary>
    private static async Task AssertNoAnswer(HttpClient client, string url, CancellationToken cancel)
    {
        HttpRequestException e = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetStringAsync(url, cancel));
        Assert.Null(e.StatusCode);
    }
}
