using System.Globalization;
using System.Text.Json;
using KvmStat.Exporter;
using KvmStat.Sources.BinaryStats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>
/// A binary statistic is one quantity in every output: -1 --json gives it as KVM keeps it (with
/// its unit), /metrics in base units by the factor its descriptor gives, both from the same kind
/// of capture, decoded once. (A QMP peer here stands in for QEMU: its answers are fixed, so a
/// JSON record and a scrape see the same values.)
/// </summary>
public class SameQuantityEndToEndTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-same-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Dictionary<string, string> Answers() => new()
    {
        ["qmp_capabilities"] = "{\"return\": {}}",
        ["query-stats-schemas"] = "{\"return\": [{\"provider\": \"kvm\", \"target\": \"vcpu\", \"stats\": [" +
            "{\"name\": \"exits\", \"type\": \"cumulative\", \"exponent\": 0}, " +
            "{\"name\": \"halt_wait_ns\", \"type\": \"cumulative\", \"unit\": \"seconds\", \"base\": 10, \"exponent\": -9}, " +
            "{\"name\": \"halt_wait_hist\", \"type\": \"log2-histogram\", \"unit\": \"seconds\", \"base\": 10, \"exponent\": -9}]}, " +
            "{\"provider\": \"kvm\", \"target\": \"vm\", \"stats\": [{\"name\": \"pages_4k\", \"type\": \"instant\", \"exponent\": 0}]}]}",
        ["query-stats:vm"] = "{\"return\": [{\"provider\": \"kvm\", \"stats\": [{\"name\": \"pages_4k\", \"value\": 512}]}]}",
        ["query-stats:vcpu"] = "{\"return\": [{\"provider\": \"kvm\", \"qom-path\": \"/machine/cpu0\", \"stats\": [" +
            "{\"name\": \"exits\", \"value\": 130}, {\"name\": \"halt_wait_ns\", \"value\": 130000}, {\"name\": \"halt_wait_hist\", \"value\": [1, 2, 3, 0, 4]}]}]}",
        ["query-cpus-fast"] = "{\"return\": [{\"cpu-index\": 0, \"qom-path\": \"/machine/cpu0\"}]}",
    };

    [Fact]
    public async Task JsonAndTheExporterGiveTheSameQuantity()
    {
        using var server = new FakeQmpServer(Path.Join(_folder, "qmp.sock"), Answers());
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "--json", "-s", "0.1", "--qmp", server.Path);
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement vm = Assert.Single(json.RootElement.GetProperty("binary_stats").EnumerateArray());
        JsonElement vcpu = Assert.Single(vm.GetProperty("vcpus").EnumerateArray()).GetProperty("stats");
        Assert.Equal(512, vm.GetProperty("vm").GetProperty("pages_4k").GetProperty("value").GetInt64());
        Assert.Equal(130, vcpu.GetProperty("exits").GetProperty("total").GetInt64());
        JsonElement waited = vcpu.GetProperty("halt_wait_ns");
        Assert.Equal(("ns", 130_000L), (waited.GetProperty("unit").GetString(), waited.GetProperty("total").GetInt64()));
        JsonElement histogram = vcpu.GetProperty("halt_wait_hist");
        (double? Le, long Count)[] buckets = [.. histogram.GetProperty("buckets").EnumerateArray()
            .Select(b => (b.GetProperty("le").ValueKind == JsonValueKind.Null ? (double?)null : b.GetProperty("le").GetDouble(), b.GetProperty("count").GetInt64()))];
        Assert.Equal([(1.0, 1L), (2.0, 3L), (4.0, 6L), (8.0, 6L), (null, 10L)], buckets);

        int port = Loopback.FreePort();
        using ChildProcess exporter = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--qmp", server.Path, "--verbose");
        exporter.WaitUntilCounting();
        using HttpClient client = Loopback.Client();
        string metrics = await client.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
        string pid = vm.GetProperty("pid").GetInt32().ToString(CultureInfo.InvariantCulture);
        double Sample(string series) => double.Parse(
            Assert.Single(metrics.Split('\n'), l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], CultureInfo.InvariantCulture);
        string vcpuLabels = $"{{guest=\"\",pid=\"{pid}\",vcpu=\"0\"";
        Assert.Equal(512, Sample($"kvm_vm_pages_4k{{guest=\"\",pid=\"{pid}\"}}"));
        Assert.Equal(130, Sample($"kvm_vcpu_exits_total{vcpuLabels}}}"));
        // The same quantity in base units, exactly: the nanoseconds as a decimal of seconds.
        Assert.Equal(waited.GetProperty("total").GetInt64() / 1e9, Sample($"kvm_vcpu_halt_wait_seconds_total{vcpuLabels}}}"));
        Assert.Contains($"kvm_vcpu_halt_wait_seconds_total{vcpuLabels}}} 0.00013\n", metrics);
        foreach ((double? le, long count) in buckets)
        {
            string bound = le is double value ? BaseUnits.Float(value / 1e9) : "+Inf";
            Assert.Equal(count, Sample($"kvm_vcpu_halt_wait_hist_seconds_bucket{vcpuLabels},le=\"{bound}\"}}"));
        }
        exporter.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, exporter.WaitForExit(s_timeout));
    }

    /// <summary>-f chooses the same binary statistics in both.</summary>
    [Fact]
    public async Task FChoosesTheSameStatisticsInJsonAndTheExporter()
    {
        using var server = new FakeQmpServer(Path.Join(_folder, "qmp.sock"), Answers());
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "--json", "-s", "0.1", "--qmp", server.Path, "-f", "^(exits|pages_4k)$");
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement vm = Assert.Single(json.RootElement.GetProperty("binary_stats").EnumerateArray());
        Assert.Equal(["pages_4k"], vm.GetProperty("vm").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["exits"], Assert.Single(vm.GetProperty("vcpus").EnumerateArray()).GetProperty("stats").EnumerateObject().Select(p => p.Name));

        int port = Loopback.FreePort();
        using ChildProcess exporter = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--qmp", server.Path, "-f", "^(exits|pages_4k)$", "--verbose");
        exporter.WaitUntilCounting();
        using HttpClient client = Loopback.Client();
        string metrics = await client.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
        string[] families = [.. metrics.Split('\n').Where(l => l.StartsWith("# TYPE kvm_vm", StringComparison.Ordinal) || l.StartsWith("# TYPE kvm_vcpu", StringComparison.Ordinal))
            .Select(l => l.Split(' ')[2])];
        Assert.Equal(["kvm_vcpu_exits_total", "kvm_vm_pages_4k"], families.Order(StringComparer.Ordinal));
        exporter.Signal(ChildProcess.SIGTERM);
        Assert.Equal(0, exporter.WaitForExit(s_timeout));
    }
}
