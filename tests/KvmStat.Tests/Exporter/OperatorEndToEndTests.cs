using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using KvmStat.Tests.Architecture;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>
/// The exporter as an operator runs it: as the systemd unit's unprivileged user, behind TLS and
/// basic authentication, scraped by a real Prometheus with contrib/'s rules and dashboard.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public partial class OperatorEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly TestCertificates _pki = new();

    public void Dispose() => _pki.Dispose();

    private string WebConfig()
    {
        string path = Path.Join(_pki.Folder, "web.yml");
        File.WriteAllText(path, $"""
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            basic_auth_users:
              alice: {WebConfigTests.SecretHash}
            """);
        return path;
    }

    [Fact]
    public async Task AnUnprivilegedExporterServesExactCountsToPrometheusOverTlsWithBasicAuth()
    {
        Kvm.Require();
        Assert.SkipUnless(PrometheusServer.Installed, "prometheus is not installed (./test.sh installs it)");
        string name = $"operated-{Environment.ProcessId}";
        using var guest = GuestVm.Start(name, vcpus: 2, outs: 77, mmio: 0);
        int port = Loopback.FreePort();
        using ChildProcess exporter = Unprivileged.Start(Unprivileged.UnitCapabilities(),
            "--serve", $"127.0.0.1:{port}", "--web-config-file", WebConfig(), "--verbose");
        exporter.WaitUntilCounting();
        // The same target twice: with the right password, and with a wrong one.
        using var prometheus = new PrometheusServer($"""
            - job_name: kvm_stat
              scheme: https
              tls_config:
                ca_file: '{Path.Join(_pki.Folder, "ca.crt")}'
              basic_auth:
                username: alice
                password: secret
              static_configs:
                - targets: ['127.0.0.1:{port}']
            - job_name: intruder
              scheme: https
              tls_config:
                ca_file: '{Path.Join(_pki.Folder, "ca.crt")}'
              basic_auth:
                username: alice
                password: wrong
              static_configs:
                - targets: ['127.0.0.1:{port}']
            """);
        await prometheus.WaitUntilReadyAsync();
        guest.Run();
        guest.Run();

        Assert.Equal(308, await prometheus.WaitForValueAsync($"kvm_guest_events_total{{job=\"kvm_stat\",guest=\"{name}\",event=\"kvm_pio\"}}", 308));
        Assert.Equal(1, await prometheus.WaitForValueAsync("kvm_stat_build_info{job=\"kvm_stat\",engine=\"bpf\"}", 1));
        Assert.Equal(1, await prometheus.WaitForValueAsync("kvm_stat_source_up{job=\"kvm_stat\",source=\"tracepoints\"}", 1));
        await prometheus.WaitAsync(async () =>
        {
            using JsonDocument targets = JsonDocument.Parse(await prometheus.GetAsync("/api/v1/targets"));
            JsonElement intruder = targets.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Single(t => t.GetProperty("labels").GetProperty("job").GetString() == "intruder");
            return intruder.GetProperty("health").GetString() == "down"
                && intruder.GetProperty("lastError").GetString()!.Contains("401", StringComparison.Ordinal);
        }, "the scrape with the wrong password refused with 401");
        Assert.Contains(exporter.Error.Lines, l => l.Contains("counting with BPF programs"));
    }

    /// <summary>
    /// Without CAP_PERFMON neither BPF nor perf counters may count: the tracepoints are served as
    /// down with the kernel's reason (perf counters open lazily: the refusal comes when the host's
    /// counters open), and debugfs's gauges still, where KVM is loaded. Needs no VM.
    /// </summary>
    [Fact]
    public async Task WithoutCapPerfmonTracepointsAreServedDownWithTheReasonAndDebugfsStill()
    {
        int port = Loopback.FreePort();
        using ChildProcess exporter = Unprivileged.Start(Unprivileged.UnitCapabilities().Where(c => c != "perfmon"),
            "--serve", $"127.0.0.1:{port}", "-t", "-d", "--verbose");
        exporter.WaitUntilCounting();
        using HttpClient client = Loopback.Client();
        string metrics = await client.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);

        Match down = TracepointsDown().Match(metrics);
        Assert.True(down.Success, metrics);
        Assert.Contains("permission", down.Groups["reason"].Value, StringComparison.OrdinalIgnoreCase);
        if (Directory.Exists("/sys/kernel/debug/kvm"))
        {
            Assert.Contains("kvm_debugfs_pages_4k ", metrics);
            Assert.Contains("kvm_stat_source_up{source=\"debugfs\",target=\"\",reason=\"\"} 1", metrics);
        }
        Assert.DoesNotContain("kvm_events_total", metrics);
        Assert.Contains(exporter.Error.Lines, l => l.StartsWith("kvm_stat: tracepoints cannot be read, served as down", StringComparison.Ordinal));
        exporter.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, exporter.WaitForExit(s_timeout));
    }

    [GeneratedRegex(@"^kvm_stat_source_up\{source=""tracepoints"",target="""",reason=""(?<reason>[^""]+)""\} 0$", RegexOptions.Multiline)]
    private static partial Regex TracepointsDown();

    /// <summary>
    /// Every query of contrib/kvm_stat.grafana.json (its variables as "All", its rate interval as 30 s)
    /// returns a number from a Prometheus that scraped the tool while guests ran, halted and exited; the
    /// rules of contrib/kvm_stat.rules.yml load and evaluate without an error.
    /// </summary>
    [Fact]
    public async Task EveryDashboardQueryReturnsDataAndTheRulesEvaluate()
    {
        Kvm.Require();
        Assert.SkipUnless(PrometheusServer.Installed, "prometheus is not installed (./test.sh installs it)");
        // The test guest makes exits; QEMU's SeaBIOS waits in halt (the test guest's halts go to
        // its own process, never waiting in the kernel), read over QMP.
        using var guest = GuestVm.Start($"dashboard-{Environment.ProcessId}", vcpus: 2, outs: 50, mmio: 3);
        using var qemu = new QemuVm($"dashboard-qemu-{Environment.ProcessId}", vcpus: 1);
        int port = Loopback.FreePort();
        using ChildProcess exporter = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "-t", "--qmp", qemu.QmpSocket, "--latency", "--vcpus", "--verbose");
        exporter.WaitUntilCounting();
        using var prometheus = new PrometheusServer($"""
            - job_name: kvm_stat
              static_configs:
                - targets: ['127.0.0.1:{port}']
            """, Path.Join(Repository.Root, "contrib", "kvm_stat.rules.yml"));
        await prometheus.WaitUntilReadyAsync();
        // A VM that exits: its events are counted outside the running VMs from then on.
        using (var passing = GuestVm.Start($"passing-{Environment.ProcessId}", vcpus: 1, outs: 10, mmio: 0))
            passing.Run();

        using JsonDocument dashboard = JsonDocument.Parse(File.ReadAllText(Path.Join(Repository.Root, "contrib", "kvm_stat.grafana.json")));
        var queries = new List<(string Panel, string Expression)>();
        foreach (JsonElement panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (panel.TryGetProperty("targets", out JsonElement targets))
            {
                foreach (JsonElement target in targets.EnumerateArray())
                    queries.Add((panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!));
            }
        }
        Assert.True(queries.Count >= 10, $"{queries.Count} queries");
        // Each query, and what it last returned (or why it failed), until it returns a number.
        Dictionary<string, string> missing = queries.ToDictionary(q => q.Panel + ": " + q.Expression, _ => "not asked");
        await prometheus.WaitAsync(async () =>
        {
            guest.Run();
            foreach ((string panel, string expression) in queries)
            {
                string key = panel + ": " + expression;
                if (!missing.ContainsKey(key))
                    continue;
                try
                {
                    JsonElement result = await prometheus.QueryAsync(AsAll(expression));
                    if (HasNumbers(result))
                        missing.Remove(key);
                    else
                        missing[key] = result.ToString();
                }
                catch (HttpRequestException e)
                {
                    missing[key] = e.Message;
                }
            }
            return missing.Count == 0;
        }, () => "dashboard queries without data: " + string.Join(" | ", missing.Select(m => $"{m.Key} -> {m.Value}")));

        foreach (JsonElement variable in dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query")
                continue;
            Match values = LabelValues().Match(variable.GetProperty("query").GetProperty("query").GetString()!);
            Assert.True(values.Success);
            JsonElement series = await prometheus.SeriesAsync(AsAll(values.Groups["selector"].Value));
            Assert.Contains(series.EnumerateArray(), s => s.TryGetProperty(values.Groups["label"].Value, out _));
        }

        // Every rule evaluated, none with an error; the guest's exit rate is recorded.
        await prometheus.WaitAsync(async () => HasNumbers(await prometheus.QueryAsync($"kvm_guest:exits:rate5m{{pid=\"{guest.Pid}\"}}")),
            "the recording rule kvm_guest:exits:rate5m");
        using JsonDocument rules = JsonDocument.Parse(await prometheus.GetAsync("/api/v1/rules"));
        JsonElement[] all = [.. rules.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray().SelectMany(g => g.GetProperty("rules").EnumerateArray())];
        int inFile = File.ReadLines(Path.Join(Repository.Root, "contrib", "kvm_stat.rules.yml")).Count(l => RuleLine().IsMatch(l));
        Assert.Equal(inFile, all.Length);
        Assert.All(all, rule => Assert.Equal("ok", rule.GetProperty("health").GetString()));
    }

    /// <summary>The dashboard's variables as Grafana's "All" sends them, and its rate interval as 30 s.</summary>
    private static string AsAll(string expression) =>
        expression.Replace("$__rate_interval", "30s", StringComparison.Ordinal)
            .Replace("$job", ".*", StringComparison.Ordinal).Replace("$instance", ".*", StringComparison.Ordinal).Replace("$guest", ".*", StringComparison.Ordinal);

    /// <summary>At least one series with a number (not NaN: a quantile of no observations is not data).</summary>
    private static bool HasNumbers(JsonElement result) =>
        result.EnumerateArray().Any(s => double.TryParse(s.GetProperty("value")[1].GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && !double.IsNaN(v));

    [GeneratedRegex(@"^label_values\((?<selector>.+), (?<label>\w+)\)$")]
    private static partial Regex LabelValues();

    /// <summary>A rule of the rules file: an alert or a recording rule.</summary>
    [GeneratedRegex(@"^\s+- (alert|record): ")]
    private static partial Regex RuleLine();
}
