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

    private (MetricsServer Server, IPEndPoint Endpoint) Start(Func<(IReadOnlyList<MetricFamily>, int)> sample, bool tls = false)
    {
        var endpoint = new IPEndPoint(IPAddress.Loopback, Loopback.FreePort());
        WebConfigReloader? config = null;
        if (tls)
        {
            string path = Path.Join(_pki.Folder, "web.yml");
            File.WriteAllText(path, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
            config = new WebConfigReloader(path, WebConfig.Load(path), _log.Add, TimeProvider.System, watch: false);
        }
        var server = new MetricsServer(endpoint, sample, config, line => { lock (_log) _log.Add(line); });
        server.Start();
        return (server, endpoint);
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
}
