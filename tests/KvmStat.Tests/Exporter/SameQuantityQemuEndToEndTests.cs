using System.Globalization;
using System.Text.Json;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>
/// A real QEMU's binary statistics over QMP are one quantity in -1 --json and in /metrics. Its
/// numbers move while SeaBIOS runs, so the scrape is taken between two JSON records and must lie
/// between them once converted to KVM's own unit: a wrong factor (nanoseconds served as seconds,
/// a histogram's bounds not scaled) cannot.
/// </summary>
[Collection(KvmCollection.Name)]
[Trait("Category", KvmCollection.Category)]
public class SameQuantityQemuEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private sealed record Reading(long Exits, long HaltWaitNs, (double? Le, long Count)[] Buckets);

    private static Reading Json(QemuVm qemu)
    {
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "-1", "--json", "-s", "0.1", "--qmp", qemu.QmpSocket);
        Assert.True(code == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement vm = Assert.Single(json.RootElement.GetProperty("binary_stats").EnumerateArray());
        JsonElement stats = Assert.Single(vm.GetProperty("vcpus").EnumerateArray()).GetProperty("stats");
        JsonElement waited = stats.GetProperty("halt_wait_ns");
        Assert.Equal("ns", waited.GetProperty("unit").GetString());
        (double? Le, long Count)[] buckets = [.. stats.GetProperty("halt_wait_hist").GetProperty("buckets").EnumerateArray()
            .Select(b => (b.GetProperty("le").ValueKind == JsonValueKind.Null ? (double?)null : b.GetProperty("le").GetDouble(), b.GetProperty("count").GetInt64()))];
        return new Reading(stats.GetProperty("exits").GetProperty("total").GetInt64(), waited.GetProperty("total").GetInt64(), buckets);
    }

    [Fact]
    public async Task JsonAndTheExporterGiveTheSameQuantityOfARealQemu()
    {
        Kvm.Require();
        Assert.SkipUnless(QemuVm.Available, "qemu-system-x86 is not installed (./test.sh installs it)");
        using var qemu = new QemuVm($"same-{Environment.ProcessId}", vcpus: 1);
        Reading before = Json(qemu);

        int port = Loopback.FreePort();
        string metrics;
        using (ChildProcess exporter = ChildProcess.StartTool("--serve", $"127.0.0.1:{port}", "--qmp", qemu.QmpSocket, "--verbose"))
        {
            exporter.WaitUntilCounting();
            using HttpClient client = Loopback.Client();
            metrics = await client.GetStringAsync($"http://127.0.0.1:{port}/metrics", TestContext.Current.CancellationToken);
            exporter.Signal(ChildProcess.SIGTERM);
            Assert.Equal(0, exporter.WaitForExit(s_timeout));
        }
        Reading after = Json(qemu);

        string labels = $"{{guest=\"{qemu.Name}\",pid=\"{qemu.Pid.ToString(CultureInfo.InvariantCulture)}\",vcpu=\"0\"";
        double Sample(string series) => double.Parse(
            Assert.Single(metrics.Split('\n'), l => l.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..], CultureInfo.InvariantCulture);
        Assert.InRange(Sample($"kvm_vcpu_exits_total{labels}}}"), before.Exits, after.Exits);
        // Seconds in /metrics, nanoseconds in JSON: the factor the descriptor gives (10^-9).
        Assert.InRange(Sample($"kvm_vcpu_halt_wait_seconds_total{labels}}}") * 1e9, before.HaltWaitNs - 1, after.HaltWaitNs + 1);
        Assert.Equal(before.Buckets.Select(b => b.Le), after.Buckets.Select(b => b.Le));
        // The served buckets in their order, their bounds read as numbers (not made by the code under test).
        string bucket = $"kvm_vcpu_halt_wait_hist_seconds_bucket{labels},le=\"";
        (string Le, double Count)[] served = [.. metrics.Split('\n').Where(l => l.StartsWith(bucket, StringComparison.Ordinal))
            .Select(l => (l[bucket.Length..l.IndexOf('"', bucket.Length)], double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))];
        Assert.Equal(before.Buckets.Length, served.Length);
        for (int i = 0; i < before.Buckets.Length; i++)
        {
            if (before.Buckets[i].Le is double le)
                Assert.Equal(le, double.Parse(served[i].Le, CultureInfo.InvariantCulture) * 1e9, le * 1e-9);
            else
                Assert.Equal("+Inf", served[i].Le);
            Assert.InRange(served[i].Count, before.Buckets[i].Count, after.Buckets[i].Count);
        }
    }
}
