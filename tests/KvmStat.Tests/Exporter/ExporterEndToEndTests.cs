using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>The Prometheus/OpenMetrics endpoint of the published binary, checked by the real tools.</summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public partial class ExporterEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private const string OpenMetricsAccept = "application/openmetrics-text; version=1.0.0";

    private sealed class Exporter : IDisposable
    {
        private readonly ChildProcess _process;

        internal Exporter(params string[] extra)
        {
            Port = Loopback.FreePort();
            _process = ChildProcess.StartTool(["--serve", $"127.0.0.1:{Port}", "--verbose", .. extra]);
            try
            {
                _process.WaitUntilCounting();
            }
            catch
            {
                // No one else holds an exporter that never said it counts.
                _process.Dispose();
                throw;
            }
        }

        internal int Port { get; }

        internal string Url => $"http://127.0.0.1:{Port}/metrics";

        internal ChildProcess Process => _process;

        /// <summary>SIGTERM, as systemd stops the service: returns the exit status.</summary>
        internal int Stop()
        {
            _process.Signal(ChildProcess.SIGTERM);
            return _process.WaitForExit(s_timeout);
        }

        /// <summary>Waits until the exporter follows a VM that started after it (it looks every second).</summary>
        internal void WaitForGuest(int pid) => WaitForSeries($"pid=\"{pid}\"}} 1\n");

        /// <summary>Scrapes until a series shows (scrapes within half a second share a sample).</summary>
        internal string WaitForSeries(string series)
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                string text = Scrape();
                if (text.Contains(series, StringComparison.Ordinal))
                    return text;
                if (clock.Elapsed > s_timeout)
                    throw new TimeoutException($"the exporter did not show {series}");
                Thread.Sleep(100);
            }
        }

        internal string Scrape(bool openMetrics = false)
        {
            using HttpClient client = Loopback.Client();
            using var request = new HttpRequestMessage(HttpMethod.Get, Url);
            if (openMetrics)
                request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse(OpenMetricsAccept));
            using HttpResponseMessage response = client.Send(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(openMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8",
                response.Content.Headers.ContentType?.ToString());
            return response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Signal(ChildProcess.SIGTERM);
                _process.WaitForExit(s_timeout);
            }
            _process.Dispose();
        }
    }

    /// <summary>
    /// Where netlink sockets are not allowed (a unit's RestrictAddressFamilies without AF_NETLINK),
    /// the exporter serves, and says at start that every local user is then one client.
    /// </summary>
    [Fact]
    public async Task WithoutSockDiagTheExporterSaysEveryLocalUserIsOneClient()
    {
        int port = Loopback.FreePort();
        using ChildProcess tool = ChildProcess.Start(Path.Join(AppContext.BaseDirectory, "nonetlink"),
            [PublishedBinary.Path, "--serve", $"127.0.0.1:{port}", "--verbose", "-f", "kvm_pio$"]);
        tool.WaitUntilCounting();
        string said = tool.Error.WaitForLine(l => l.Contains("sock_diag", StringComparison.Ordinal), s_timeout, "the sock_diag warning");
        Assert.Equal("kvm_stat: the local user behind each client on this host cannot be asked of the kernel (sock_diag: Address family not supported by protocol): " +
            "every local user is one client over loopback, and the client of the address it comes from over the host's others. Allow netlink sockets (AF_NETLINK in the unit's RestrictAddressFamilies).", said);
        using HttpClient client = Loopback.Client();
        Assert.Contains("kvm_events_total{event=\"kvm_pio\"}", await client.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken));
        tool.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, tool.WaitForExit(s_timeout));
    }

    private static (int Code, string Output) RunTool(string file, string[] arguments, string input)
    {
        (int code, string output, string error) = ChildProcess.Run(file, arguments, s_timeout, input);
        return (code, output + error);
    }

    [GeneratedRegex(@"^kvm_events_total\{event=""(?<event>[^""]+)""\} (?<value>\d+)$", RegexOptions.Multiline)]
    private static partial Regex HostCounter();

    private static Dictionary<string, long> HostCounters(string text) =>
        HostCounter().Matches(text).ToDictionary(m => m.Groups["event"].Value, m => long.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [Fact]
    public void PromtoolAndTheStrictOpenMetricsParserAcceptTheOutput()
    {
        Kvm.Require();
        Assert.SkipUnless(File.Exists("/usr/bin/promtool"), "promtool is not installed (./test.sh installs prometheus)");
        using var guest = GuestVm.Start("prom\"tool\\ \u001b[1m\n\u00e9", vcpus: 2, outs: 30, mmio: 2, holdStats: true);
        using var exporter = new Exporter("--binary-stats", "-t");
        guest.Run();

        string text = exporter.Scrape();
        (int code, string lint) = RunTool("promtool", ["check", "metrics"], text);
        Assert.True(code == 0 && lint.Trim().Length == 0, $"promtool: {lint}");
        Assert.Contains($"kvm_guest_events_total{{guest=\"prom\\\"tool\\\\ \\\\e[1m\\n\u00e9\",pid=\"{guest.Pid}\",event=\"kvm_pio\"}} 60", text);
        Assert.Contains("# TYPE kvm_events_total counter", text);
        Assert.Contains("# TYPE kvm_vcpu_halt_wait_hist_seconds histogram", text);
        Assert.Contains($"kvm_vcpu_halt_wait_hist_seconds_bucket{{guest=\"prom\\\"tool\\\\ \\\\e[1m\\n\u00e9\",pid=\"{guest.Pid}\",vcpu=\"0\",le=\"+Inf\"}} ", text);
        Assert.Contains("# TYPE kvm_vcpu_halt_wait_seconds_total counter", text);
        string vcpu1 = $"{{guest=\"prom\\\"tool\\\\ \\\\e[1m\\n\u00e9\",pid=\"{guest.Pid}\",vcpu=\"1\"}}";
        Assert.Contains($"kvm_vcpu_mmio_exits_total{vcpu1} 2", text);
        Assert.Contains($"kvm_vcpu_halt_exits_total{vcpu1} 1", text);
        // 30 port writes, 2 MMIO writes and a halt; KVM's exits also counts those the host causes.
        long Series(string family) => long.Parse(text.Split('\n').Single(l => l.StartsWith(family + vcpu1 + " ", StringComparison.Ordinal)).Split(' ')[^1],
            CultureInfo.InvariantCulture);
        long hostCaused = Kvm.HostCausedExits.Split('|').Sum(name => Series($"kvm_vcpu_{name}_total"));
        Assert.InRange(Series("kvm_vcpu_exits_total"), 33, 33 + hostCaused);

        string openMetrics = exporter.Scrape(openMetrics: true);
        Assert.EndsWith("# EOF\n", openMetrics);
        Assert.Contains("# TYPE kvm_events counter", openMetrics);
        string script = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families\n" +
                        "families = list(text_string_to_metric_families(sys.stdin.read()))\nprint(len(families))\n";
        (code, string parsed) = RunTool("/usr/bin/python3", ["-c", script], openMetrics);
        Assert.True(code == 0, $"the OpenMetrics parser refused the exposition: {parsed}");
        Assert.True(int.Parse(parsed.Trim(), CultureInfo.InvariantCulture) > 10);
    }

    [Fact]
    public async Task ARealPrometheusScrapesTheGuestsExactCount()
    {
        Kvm.Require();
        Assert.SkipUnless(PrometheusServer.Installed, "prometheus is not installed (./test.sh installs it)");
        string name = $"scraped-{Environment.ProcessId}";
        using var guest = GuestVm.Start(name, vcpus: 2, outs: 111, mmio: 4);
        using var exporter = new Exporter();
        using var prometheus = new PrometheusServer($"""
            - job_name: kvm_stat
              static_configs:
                - targets: ['127.0.0.1:{exporter.Port}']
            """);
        await prometheus.WaitUntilReadyAsync();

        guest.Run();
        // A VM that starts while the exporter runs and makes all its exits at once, before the
        // exporter next looks for VMs: counted from its first event all the same.
        string lateName = $"scraped-late-{Environment.ProcessId}";
        using var late = GuestVm.Start(lateName, vcpus: 2, outs: 333, mmio: 0);
        late.Run();
        Assert.Equal(222, await prometheus.WaitForValueAsync($"kvm_guest_events_total{{guest=\"{name}\",event=\"kvm_pio\"}}", 222));
        Assert.Equal(666, await prometheus.WaitForValueAsync($"kvm_guest_events_total{{guest=\"{lateName}\",event=\"kvm_pio\"}}", 666));
        Assert.Contains("\"health\":\"up\"", await prometheus.GetAsync("/api/v1/targets"));
    }

    [Fact]
    public async Task SlowAndBrokenClientsDoNotStallScrapes()
    {
        Kvm.RequireTracepoints();
        using var exporter = new Exporter();
        // 60 clients that send half a request and then nothing, and one that never reads its answer.
        var stalled = new List<Socket>();
        try
        {
            for (int i = 0; i < 60; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Connect("127.0.0.1", exporter.Port);
                socket.Send(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
                stalled.Add(socket);
            }
            var reader = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
            reader.Connect("127.0.0.1", exporter.Port);
            for (int i = 0; i < 50; i++)
                reader.Send(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
            stalled.Add(reader);
            var garbage = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            garbage.Connect("127.0.0.1", exporter.Port);
            garbage.Send([0x16, 0x03, 0x01, 0xff, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]);
            stalled.Add(garbage);

            // Meanwhile, 20 scrapers at once all get complete answers, quickly.
            var clock = Stopwatch.StartNew();
            string[] bodies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => exporter.Scrape(openMetrics: i % 2 == 0))));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"20 concurrent scrapes took {clock.Elapsed}");
            Assert.All(bodies, body => Assert.Contains("kvm_events", body));
            Assert.Equal(10, bodies.Count(b => b.EndsWith("# EOF\n", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (Socket socket in stalled)
                socket.Dispose();
        }
        Assert.False(exporter.Process.HasExited);
    }

    [Fact]
    public void CountersNeverGoBackwardsWhileVmsComeAndGo()
    {
        Kvm.Require();
        using var exporter = new Exporter();
        Dictionary<string, long> previous = HostCounters(exporter.Scrape());
        string Check(string series = "kvm_events_total")
        {
            string text = exporter.WaitForSeries(series);
            Dictionary<string, long> now = HostCounters(text);
            foreach ((string counter, long before) in previous)
                Assert.True(now[counter] >= before, $"{counter} went from {before} to {now[counter]}");
            previous = now;
            return text;
        }

        int firstPid;
        using (var first = GuestVm.Start($"come-{Environment.ProcessId}", vcpus: 1, outs: 20, mmio: 1))
        {
            firstPid = first.Pid;
            exporter.WaitForGuest(first.Pid);
            first.Run();
            Check($"pid=\"{first.Pid}\",event=\"kvm_pio\"}} 20");
        }
        Check();
        using var second = GuestVm.Start($"go-{Environment.ProcessId}", vcpus: 1, outs: 5, mmio: 1);
        exporter.WaitForGuest(second.Pid);
        second.Run();
        string text = Check($"pid=\"{second.Pid}\",event=\"kvm_pio\"}} 5");
        Assert.DoesNotContain($"pid=\"{firstPid}\"", text);
        Assert.True(previous["kvm_pio"] >= 25);
    }

    [Fact]
    public async Task TheIndexNamesMetricsAndUnknownPathsAre404()
    {
        Kvm.RequireTracepoints();
        CancellationToken cancel = TestContext.Current.CancellationToken;
        using var exporter = new Exporter("-f", "kvm_pio");
        using HttpClient client = Loopback.Client();
        string index = await client.GetStringAsync($"http://127.0.0.1:{exporter.Port}/", cancel);
        Assert.Contains("/metrics", index);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await client.GetAsync($"http://127.0.0.1:{exporter.Port}/favicon.ico", cancel)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, (await client.PostAsync(exporter.Url, new StringContent(""), cancel)).StatusCode);
        Assert.DoesNotContain("kvm_mmio", exporter.Scrape());

        // systemd stops the service with SIGTERM: a clean exit, status 0, nothing but --verbose notes.
        Assert.Equal(0, exporter.Stop());
        Assert.All(exporter.Process.Error.Lines, line => Assert.DoesNotContain("error", line));
    }

    [Fact]
    public void BadAddressesAndBusyPortsArePlainErrors()
    {
        (int code, _, string error) = ChildProcess.RunTool(s_timeout, "--serve", "127.0.0.1:99999");
        Assert.Equal(2, code);
        Assert.Contains("the port must be 1 to 65535", error);
        (code, _, error) = ChildProcess.RunTool(s_timeout, "--serve", "example.org:80");
        Assert.Equal(2, code);
        Assert.Contains("not an IP address", error);
        (code, _, error) = ChildProcess.RunTool(s_timeout, "--serve", "-1");
        Assert.Equal(2, code);

        Kvm.RequireTracepoints();
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        (code, _, error) = ChildProcess.RunTool(s_timeout, "--serve", $"127.0.0.1:{port}", "-f", "kvm_pio");
        Assert.Equal(1, code);
        // The error ends what is said (a busy host may have had a warning said before it).
        Assert.EndsWith($"kvm_stat: error: cannot listen on 127.0.0.1:{port}: Address already in use.\n" +
            "kvm_stat: Choose an address of this host and a free port with --serve HOST:PORT.", error);

        // An address of no interface of this host (nothing is sent to it), and a privileged port as nobody.
        (code, _, error) = ChildProcess.RunTool(s_timeout, "--serve", "192.0.2.1:9000", "-f", "kvm_pio");
        Assert.Equal(1, code);
        Assert.EndsWith("kvm_stat: error: cannot listen on 192.0.2.1:9000: Cannot assign requested address.\n" +
            "kvm_stat: Choose an address of this host and a free port with --serve HOST:PORT.", error);
        if (Environment.IsPrivilegedProcess)
        {
            // The unit's capabilities count; CAP_NET_BIND_SERVICE is not among them.
            (code, _, error) = ChildProcess.Run("setpriv", Unprivileged.Arguments(Unprivileged.UnitCapabilities(), "--serve", "127.0.0.1:80", "-f", "kvm_pio"), s_timeout);
            Assert.Equal(1, code);
            Assert.Contains("cannot listen on 127.0.0.1:80: Permission denied.\nkvm_stat: Ports below 1024 need root or CAP_NET_BIND_SERVICE", error);
        }
    }
}
