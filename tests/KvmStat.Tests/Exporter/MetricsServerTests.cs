using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KvmStat.Exporter;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>The endpoint on real sockets: what a failing scrape answers, and what one client holding a thousand connections costs the others.</summary>
public class MetricsServerTests : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly List<string> _log = [];

    public void Dispose() => _pki.Dispose();

    private static (IReadOnlyList<MetricFamily>, int) OneGauge()
    {
        var family = new MetricFamily("kvm_test", "gauge", "a value");
        family.Gauge([], 7);
        return ([family], 1);
    }

    private (MetricsServer Server, IPEndPoint Endpoint) Start(Func<(IReadOnlyList<MetricFamily>, int)> sample, bool tls = false, string? yaml = null,
        WebConfig? web = null, ConnectionGate? gate = null)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, Loopback.FreePort());
        WebConfigReloader? config = null;
        string path = Path.Join(_pki.Folder, "web.yml");
        if (tls || yaml is not null)
        {
            File.WriteAllText(path, (tls ? "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" : "") + yaml);
            web = WebConfig.Load(path, TimeProvider.System);
        }
        if (web is not null)
            config = new WebConfigReloader(path, web, _log.Add, TimeProvider.System, watch: false);
        // These tests play many clients from one process, each by its loopback address.
        var server = new MetricsServer(endpoint, sample, TimeProvider.System, line => { lock (_log) _log.Add(line); }, config,
            gate ?? ConnectionGate.ForThisProcess(localUsers: false));
        server.Start();
        return (server, endpoint);
    }

    /// <summary>OpenMetrics where the Accept header prefers it (as Prometheus asks), the text format otherwise, and never where its quality is 0.</summary>
    [Theory]
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true)]
    [InlineData("application/openmetrics-text; version=1.0.0; charset=utf-8", true)]
    [InlineData("application/openmetrics-text;version=1.0.0;q=0", false)]
    [InlineData("text/plain;q=0.9,application/openmetrics-text;q=0.5", false)]
    [InlineData("text/html,application/xhtml+xml,*/*;q=0.8", false)]
    [InlineData("", false)]
    [InlineData("garbage;;;", false)]
    public void OpenMetricsIsServedWhereTheAcceptHeaderPrefersIt(string accept, bool openMetrics) =>
        Assert.Equal(openMetrics, MetricsApplication.WantsOpenMetrics(accept));

    /// <summary>kvm_test{i="0".."count-1"}, each with the value <paramref name="n"/>.</summary>
    private static MetricFamily[] Gauges(int n, int count)
    {
        var family = new MetricFamily("kvm_test", "gauge", "a value");
        for (int i = 0; i < count; i++)
            family.Gauge([("i", i.ToString(System.Globalization.CultureInfo.InvariantCulture))], n);
        return [family];
    }

    /// <summary>A server whose every sample is a new one, numbered from 1, of what <paramref name="of"/> makes of its number.</summary>
    private (MetricsServer Server, IPEndPoint Endpoint) StartNumbered(Func<int, MetricFamily[]> of)
    {
        int number = 0;
        return Start(() =>
        {
            int n = Interlocked.Increment(ref number);
            return (of(n), n);
        });
    }

    /// <summary>
    /// Each scrape of a new sample gets its own text whole, written into the buffer of the last
    /// (which nobody sends any more) whether the new text is longer or shorter.
    /// </summary>
    [Fact]
    public async Task EveryScrapeOfANewSampleGetsItsOwnTextWhole()
    {
        static MetricFamily[] Of(int n) => Gauges(n, n % 2 == 0 ? 3000 : 5);
        (MetricsServer server, IPEndPoint endpoint) = StartNumbered(Of);
        using (server)
        {
            using HttpClient client = ClientFrom("127.0.0.2");
            for (int scrape = 1; scrape <= 6; scrape++)
            {
                string text = await client.GetStringAsync($"http://{endpoint}/metrics", TestContext.Current.CancellationToken);
                Assert.Equal(new MetricsWriter(false).Write(Of(scrape)), text);
            }
        }
    }

    /// <summary>
    /// Scrapes of many clients at once, each of a new sample of its own size, in either format,
    /// some cut off mid-body: every body received is the whole text of the sample it is of, never
    /// one written into a buffer another scrape was still sending.
    /// </summary>
    [Fact]
    public async Task ConcurrentScrapesOfNewSamplesEachGetTheirTextWhole()
    {
        static MetricFamily[] Of(int n) => Gauges(n, 20 + n * 7919 % 4000);
        (MetricsServer server, IPEndPoint endpoint) = StartNumbered(Of);
        using (server)
        {
            CancellationToken cancel = TestContext.Current.CancellationToken;
            async Task Scrapes(int client)
            {
                using HttpClient http = ClientFrom($"127.0.0.{10 + client}");
                for (int scrape = 0; scrape < 25; scrape++)
                {
                    bool openMetrics = (client + scrape) % 2 == 0;
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}/metrics");
                    if (openMetrics)
                        request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0");
                    using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
                    if (scrape % 5 == 4)
                        continue;  // Cut off: the body is never read.
                    string text = await response.Content.ReadAsStringAsync(cancel);
                    string value = System.Text.RegularExpressions.Regex.Match(text, "kvm_test\\{i=\"0\"\\} ([0-9]+)").Groups[1].Value;
                    int n = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Equal(new MetricsWriter(openMetrics).Write(Of(n)), text);
                }
            }
            await Task.WhenAll(Enumerable.Range(0, 8).Select(Scrapes));
        }
    }

    /// <summary>
    /// A scrape that took its sample before another took a newer one (concurrent scrapes) is
    /// answered with the newer text in hand, not with its older sample written over it.
    /// </summary>
    [Fact]
    public async Task AScrapeOfAnOlderSampleGetsTheNewerTextInHand()
    {
        static MetricFamily[] Of(int n)
        {
            var family = new MetricFamily("kvm_test", "gauge", "a value");
            family.Gauge([], n);
            return [family];
        }
        var numbers = new Queue<int>([2, 1, 3]);
        (MetricsServer server, IPEndPoint endpoint) = Start(() =>
        {
            int n;
            lock (numbers)
                n = numbers.Dequeue();
            return (Of(n), n);
        });
        using (server)
        {
            using HttpClient client = ClientFrom("127.0.0.2");
            string url = $"http://{endpoint}/metrics";
            CancellationToken cancel = TestContext.Current.CancellationToken;
            Assert.Contains("kvm_test 2\n", await client.GetStringAsync(url, cancel));
            Assert.Contains("kvm_test 2\n", await client.GetStringAsync(url, cancel));
            Assert.Contains("kvm_test 3\n", await client.GetStringAsync(url, cancel));
        }
    }

    /// <summary>A sample that throws: a short text 500 that says why, and the same line in the log.</summary>
    [Fact]
    public async Task AFailedScrapeAnswersWhyAndLogsIt()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(() => throw new InvalidOperationException("the sample broke"));
        using (server)
        {
            using HttpClient client = Loopback.Client();
            using HttpResponseMessage response = await client.GetAsync($"http://{endpoint}/metrics", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.Equal("kvm_stat: the scrape failed: internal error: InvalidOperationException: the sample broke\n", body);
            Assert.Equal(["the scrape failed: internal error: InvalidOperationException: the sample broke"], _log);
        }
    }

    /// <summary>An HTTP client that connects from another loopback address: another client, as the server counts them.</summary>
    private HttpClient ClientFrom(string address) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancel) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancel);
            return new NetworkStream(socket, ownsSocket: true);
        },
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    }) { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>
    /// One client opens 1,000 connections and sends half a request (or half a TLS greeting) on each;
    /// another client's scrape on a new connection is answered within a second, and of the
    /// thousand only the first client's share stays open.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AThousandHalfSentConnectionsOfOneClientKeepNoOneElseOut(bool tls)
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, tls);
        var held = new List<Socket>();
        try
        {
            byte[] half = tls ? [0x16, 0x03, 0x01, 0x02] : Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\n");
            for (int i = 0; i < 1000; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                await socket.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
                try
                {
                    await socket.SendAsync(half, TestContext.Current.CancellationToken);
                }
                catch (SocketException)
                {
                    // Already pushed out.
                }
            }
            using HttpClient other = ClientFrom("127.0.0.2");
            var clock = Stopwatch.StartNew();
            string text = await other.GetStringAsync($"{(tls ? "https" : "http")}://{endpoint}/metrics", TestContext.Current.CancellationToken);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the scrape took {clock.Elapsed}");
            Assert.Contains("kvm_test 7", text);
            // The server closed all but the first client's share (a closed socket reads as end of stream at once).
            int open = held.Count(s => !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0));
            Assert.InRange(open, 1, 64);
        }
        finally
        {
            foreach (Socket socket in held)
                socket.Dispose();
            server.Dispose();
        }
    }

    /// <summary>
    /// A header value Kestrel refuses (here one the configuration's checks would not let through):
    /// the request gets a short text 500 naming why, and the log the same line, never an empty 500.
    /// </summary>
    [Fact]
    public async Task AnyFailureOfARequestAnswersWhyAndLogsIt()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, web: new WebConfig { Headers = [("X-XSS-Protection", "1\u0001")] });
        using (server)
        {
            using HttpClient client = Loopback.Client();
            using HttpResponseMessage response = await client.GetAsync($"http://{endpoint}/metrics", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            string body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            Assert.StartsWith("kvm_stat: the request failed: internal error: InvalidOperationException: ", body);
            lock (_log)
                Assert.Equal([body["kvm_stat: ".Length..].TrimEnd('\n')], _log);
        }
    }

    /// <summary>rate_limit as the exporter-toolkit applies it: a burst of requests, then 429 until the next token.</summary>
    [Fact]
    public async Task RateLimitAnswersTooManyRequestsPastItsBurst()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, yaml: "rate_limit:\n  interval: 1h\n  burst: 2\n");
        using (server)
        {
            using HttpClient client = Loopback.Client();
            var codes = new List<HttpStatusCode>();
            for (int i = 0; i < 4; i++)
            {
                using HttpResponseMessage response = await client.GetAsync($"http://{endpoint}/metrics", TestContext.Current.CancellationToken);
                codes.Add(response.StatusCode);
            }
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], codes);
        }
    }

    /// <summary>
    /// One address sends 24 failed logins at once (within its share of connections) (bcrypt cost 10);
    /// a scraper at another address, asking once the flooder's queue is full, is let in while the
    /// flood goes on (in its turn: <see cref="BcryptQueueTests"/>), and most of the flood is refused
    /// at once with 429.
    /// </summary>
    [Fact]
    public async Task FailedLoginsFromOneAddressKeepNoOtherScraperWaiting()
    {
        string hash = BCrypt.Net.BCrypt.HashPassword("secret", 10);
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, yaml: $"basic_auth_users:\n  alice: {hash}\n");
        using (server)
        {
            string url = $"http://{endpoint}/metrics";
            HttpRequestMessage Get(string password) => new(HttpMethod.Get, url)
            {
                Headers = { Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"alice:{password}"))) },
            };
            using HttpClient flooder = ClientFrom("127.0.0.3");
            CancellationToken cancel = TestContext.Current.CancellationToken;
            Task<HttpResponseMessage>[] flood = [.. Enumerable.Range(0, 24).Select(i => flooder.SendAsync(Get($"guess{i}"), cancel))];
            using HttpClient scraper = ClientFrom("127.0.0.2");
            // The flooder's queue is full once a login of it is refused at once.
            await Until(() => flood.Any(t => t.IsCompletedSuccessfully && t.Result.StatusCode == HttpStatusCode.TooManyRequests),
                "no login of the flooder was refused at once");
            // Its turn comes after at most one more of the flooder's checks (BcryptQueueTests tells the order).
            using HttpResponseMessage ok = await scraper.SendAsync(Get("secret"), cancel);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            HttpResponseMessage[] answers = await Task.WhenAll(flood);
            Assert.True(answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests) >= 15, string.Join(",", answers.Select(a => (int)a.StatusCode)));
            Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.Unauthorized));
            foreach (HttpResponseMessage answer in answers)
                answer.Dispose();
        }
    }

    /// <summary>A socket from a loopback address of its own, connected to the server.</summary>
    private static async Task<Socket> ConnectFrom(string address, IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(address), 0));
        await socket.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
        return socket;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), what);
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>
    /// A full server held by many addresses of one connection each: a scraper that gets in keeps
    /// its connection while the flood goes on (the flood's older connections go first), and its
    /// request is answered.
    /// </summary>
    [Fact]
    public async Task AFloodFromManyAddressesPushesOutItsOwnOlderConnections()
    {
        var gate = new ConnectionGate(perClient: 4, total: 32, localUsers: false);
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, gate: gate);
        var held = new List<Socket>();
        try
        {
            // One after the other, so that the server takes them in this order.
            for (int i = 1; i <= 32; i++)
            {
                held.Add(await ConnectFrom($"127.0.1.{i}", endpoint));
                await Until(() => gate.Open == i, $"flood connection {i} counted");
            }
            // One of the flood leaves: the scraper comes in without pushing anyone out.
            held[0].Dispose();
            await Until(() => gate.Open == 31, "the first flood connection gone");
            using Socket scraper = await ConnectFrom("127.0.0.2", endpoint);
            await scraper.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\n"), TestContext.Current.CancellationToken);
            await Until(() => gate.Open == 32, "the scraper counted");
            for (int i = 1; i <= 16; i++)
                held.Add(await ConnectFrom($"127.0.2.{i}", endpoint));
            await Until(() => gate.Open == 32 && held.Skip(1).Take(16).All(s => s.Poll(0, SelectMode.SelectRead)), "the flood's oldest pushed out");
            await scraper.SendAsync(Encoding.ASCII.GetBytes("\r\n"), TestContext.Current.CancellationToken);
            byte[] answer = new byte[4096];
            int n = await scraper.ReceiveAsync(answer, TestContext.Current.CancellationToken);
            Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(answer, 0, n));
        }
        finally
        {
            foreach (Socket socket in held)
                socket.Dispose();
            server.Dispose();
        }
    }

    /// <summary>The cipher suite and version a client of the given versions gets from the server.</summary>
    private static async Task<(System.Security.Authentication.SslProtocols, System.Net.Security.TlsCipherSuite)> Handshake(
        IPEndPoint endpoint, System.Security.Authentication.SslProtocols versions)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
        await using var tls = new System.Net.Security.SslStream(client.GetStream());
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            EnabledSslProtocols = versions,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, TestContext.Current.CancellationToken);
        return (tls.SslProtocol, tls.NegotiatedCipherSuite);
    }

    /// <summary>cipher_suites as the exporter-toolkit applies them: TLS 1.2 gets the suite listed (not OpenSSL's first choice), TLS 1.3 keeps its own.</summary>
    [Fact]
    public async Task CipherSuitesChooseTls12sAndLeaveTls13ItsOwn()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, tls: true, yaml: "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n");
        using (server)
        {
            Assert.Equal((System.Security.Authentication.SslProtocols.Tls12, System.Net.Security.TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
                await Handshake(endpoint, System.Security.Authentication.SslProtocols.Tls12));
            (System.Security.Authentication.SslProtocols version, _) = await Handshake(endpoint, System.Security.Authentication.SslProtocols.Tls13);
            Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, version);
        }
    }

    /// <summary>
    /// min_version TLS10: a client that speaks TLS 1.0 only gets it where this system's OpenSSL
    /// completes such a handshake; where it does not, the client is refused and a note says that
    /// TLS 1.2 is the lowest served. Either way the configuration says what is served.
    /// </summary>
    [Fact]
    public async Task MinVersionTls10IsServedWhereOpenSslAllowsItAndSaidWhereNot()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, tls: true, yaml: "  min_version: TLS10\n");
        using (server)
        {
            WebConfig config = WebConfig.Load(Path.Join(_pki.Folder, "web.yml"), TimeProvider.System);
#pragma warning disable SYSLIB0039 // TLS 1.0 is what is tried here
            bool offered = config.Tls!.Protocols.HasFlag(System.Security.Authentication.SslProtocols.Tls);
            System.Security.Authentication.SslProtocols? got = null;
            try
            {
                (got, _) = await Handshake(endpoint, System.Security.Authentication.SslProtocols.Tls);
            }
            catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
            {
            }
            Assert.Equal(offered ? System.Security.Authentication.SslProtocols.Tls : null, got);
#pragma warning restore SYSLIB0039
            Assert.Equal(!offered, config.Notes.Any(n => n.StartsWith("min_version TLS10: this system's OpenSSL refuses TLS 1.0 and 1.1", StringComparison.Ordinal)));
            Assert.Equal(System.Security.Authentication.SslProtocols.Tls13, (await Handshake(endpoint, System.Security.Authentication.SslProtocols.Tls13)).Item1);
        }
    }

    /// <summary>
    /// HTTP/2 as a scraper needs it and no more: the SETTINGS the server sends a new h2 connection
    /// (over TLS, chosen by ALPN) name 8 streams, a 16 KiB header list, 16 KiB frames and a 96 KiB
    /// stream window; a setting left out is HTTP/2's default, which must then be the one meant.
    /// </summary>
    [Fact]
    public async Task Http2AnnouncesItsLimitsToEveryConnection()
    {
        (MetricsServer server, IPEndPoint endpoint) = Start(OneGauge, tls: true);
        using (server)
        {
            CancellationToken cancel = TestContext.Current.CancellationToken;
            using var client = new TcpClient();
            await client.ConnectAsync(endpoint, cancel);
            await using var tls = new System.Net.Security.SslStream(client.GetStream());
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            }, cancel);
            Assert.Equal(System.Net.Security.SslApplicationProtocol.Http2, tls.NegotiatedApplicationProtocol);
            // The client preface and an empty SETTINGS frame; the server's first frame is its SETTINGS.
            await tls.WriteAsync(Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").Concat(new byte[] { 0, 0, 0, 4, 0, 0, 0, 0, 0 }).ToArray(), cancel);
            byte[] head = new byte[9];
            await tls.ReadExactlyAsync(head, cancel);
            Assert.Equal(4, head[3]);
            byte[] payload = new byte[(head[0] << 16) | (head[1] << 8) | head[2]];
            await tls.ReadExactlyAsync(payload, cancel);
            // HTTP/2's defaults (RFC 9113, 6.5.2), replaced by what the server sends.
            var settings = new Dictionary<int, long> { [1] = 4096, [3] = long.MaxValue, [4] = 65_535, [5] = 16_384, [6] = long.MaxValue };
            for (int at = 0; at + 6 <= payload.Length; at += 6)
                settings[(payload[at] << 8) | payload[at + 1]] = (uint)((payload[at + 2] << 24) | (payload[at + 3] << 16) | (payload[at + 4] << 8) | payload[at + 5]);
            Assert.Equal(4096, settings[1]);      // HEADER_TABLE_SIZE
            Assert.Equal(8, settings[3]);         // MAX_CONCURRENT_STREAMS
            Assert.Equal(96 * 1024, settings[4]); // INITIAL_WINDOW_SIZE
            Assert.Equal(16 * 1024, settings[5]); // MAX_FRAME_SIZE
            Assert.Equal(16 * 1024, settings[6]); // MAX_HEADER_LIST_SIZE
        }
    }
}
