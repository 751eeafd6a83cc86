using System.Text.Json;
using KvmStat.Sources.Bpf;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// A kernel without what the BPF engine needs (forced with KVM_STAT_BPF_LACKS): a run counts with
/// perf counters after one line that names what is missing and since which Linux, --engine bpf is
/// an error that says the same, and --doctor says what a run would do.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfSupportEndToEndTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void ThisKernelHasWhatTheEngineNeeds() => BpfSupport.Require();

    /// <summary>--doctor loads --latency's programs as a run would (through the verifier, not attached).</summary>
    [Fact]
    public void TheDoctorLoadsTheLatencyPrograms()
    {
        (_, string output, _) = ChildProcess.RunTool(s_timeout, "--doctor");
        Assert.Matches(@"\nok    latency programs      \d+ programs for --latency pass this kernel's verifier \(ending exits at (kvm_entry|ioctl\(KVM_RUN\))\)\n", output);
    }

    /// <summary>A pretended feature that does not exist is refused, not silently ignored.</summary>
    [Fact]
    public void PretendingToLackAnUnknownFeatureIsAnError()
    {
        var e = Assert.Throws<EnvironmentException>(() => BpfSupport.Require("mmap"));
        Assert.Equal("KVM_STAT_BPF_LACKS=\"mmap\" names no feature of the BPF engine.", e.Message);
        Assert.Equal("Give one of raw_tracepoint, queue, mmapable, batch, memlock, or unset it.", e.Fix);
        // --doctor says what a run would do: stop on it.
        var environment = new Dictionary<string, string> { [BpfSupport.PretendVariable] = "mmap" };
        (int code, string output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor");
        Assert.Equal(1, code);
        Assert.Contains($"fail  engine                {e.Message} {e.Fix}\n", output);
        (code, _, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio");
        Assert.Equal(1, code);
        Assert.StartsWith($"kvm_stat: error: {e.Message}", error);
    }

    /// <summary>Before Linux 5.11 a map beyond the locked-memory limit is refused with EPERM: the line names the limit too, where it could not be lifted.</summary>
    [Fact]
    public void ARefusalNamesTheLockedMemoryLimitWhereItCouldNotBeLifted()
    {
        var refused = new BpfException("creating the BPF map counts", Interop.Errno.EPERM);
        Assert.Equal($"{refused.Message}: BPF needs CAP_BPF and CAP_PERFMON, or root; before Linux 5.11 its maps must also fit the locked-memory " +
            "limit, 64 KiB here (LimitMEMLOCK=infinity in a unit, ulimit -l unlimited in a shell)", KvmStat.Cli.TracepointEngines.Describe(refused, 65536, root: false));
        // Root has the capabilities: the limit is what refused it.
        Assert.Equal($"{refused.Message}: before Linux 5.11 BPF maps must fit the locked-memory " +
            "limit, 64 KiB here (LimitMEMLOCK=infinity in a unit, ulimit -l unlimited in a shell)", KvmStat.Cli.TracepointEngines.Describe(refused, 65536, root: true));
        BpfSupport.Require();
        // This kernel (5.11 or later) charges no map to the limit, lifted or not: capabilities alone are named.
        Assert.Null(BpfSupport.LockedMemoryLimit);
        Assert.Equal(0, KvmStat.Interop.Libc.GetRLimit(KvmStat.Interop.Abi.RLIMIT_MEMLOCK, out KvmStat.Interop.Libc.RLimit before));
        Assert.False(BpfSupport.MapsChargeLockedMemory(before));
        Assert.Equal(0, KvmStat.Interop.Libc.GetRLimit(KvmStat.Interop.Abi.RLIMIT_MEMLOCK, out KvmStat.Interop.Libc.RLimit after));
        Assert.Equal(before.Current, after.Current);
        Assert.Equal($"{refused.Message}: BPF needs CAP_BPF and CAP_PERFMON, or root", KvmStat.Cli.TracepointEngines.Describe(refused, root: false));
    }

    [Theory]
    [InlineData("raw_tracepoint", "raw tracepoint programs (Linux 4.17 and later)")]
    [InlineData("queue", "queue maps (Linux 4.20 and later)")]
    [InlineData("mmapable", "BPF arrays mapped into memory (Linux 5.5 and later)")]
    public void AMissingFeatureFallsBackToPerfCountersWithOneLine(string feature, string said)
    {
        Assert.Contains(said, Assert.Throws<BpfException>(() => BpfSupport.Require(feature)).Message);
        var environment = new Dictionary<string, string> { [BpfSupport.PretendVariable] = feature };

        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio");
        Assert.Equal(0, code);
        Assert.StartsWith("kvm_pio ", output);
        string line = Assert.Single(Kvm.WithoutNoVmLine(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.StartsWith($"kvm_stat: counting with perf counters: BPF is not available (this kernel lacks {said}: ", line);

        // Exit latencies alone, asked for where the fallback cannot time them: why they are not there.
        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "--latency", "-f", "user_exit");
        Assert.Equal(2, code);
        Assert.EndsWith("kvm_stat: error: no tracepoint field matches \"user_exit\".\nkvm_stat: Exit latencies are fields only where the BPF engine can time exits " +
            "(kvm_stat --doctor says whether it can), and kernel_exit_* only where kvm_entry fires (VMX, SVM, arm64); list the fields with: kvm_stat -f help --latency", error);

        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio", "--engine", "bpf");
        Assert.Equal(1, code);
        Assert.StartsWith($"kvm_stat: error: BPF counting is not available: this kernel lacks {said}", error);

        (_, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor");
        Assert.Contains($"warn  engine                perf counters: BPF is not available (this kernel lacks {said}: ", output);
        Assert.DoesNotContain("latency programs", output);

        // --doctor --engine bpf says what a run with it does: stop.
        (code, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor", "--engine", "bpf");
        Assert.Equal(1, code);
        Assert.Contains($"fail  engine                BPF counting is not available: this kernel lacks {said}", output);
        Assert.Contains("Count with perf counters instead: --engine perf (or leave --engine out).\n", output);
    }

    /// <summary>
    /// A kernel before Linux 5.11 charges BPF maps to the locked-memory limit: where that limit is
    /// 64 KiB and cannot be lifted, the maps are refused, a run falls back to perf counters with one
    /// line that names the limit and how to lift it, and --doctor says the same.
    /// </summary>
    [Fact]
    public void MapsBeyondTheLockedMemoryLimitFallBackToPerfCountersWithOneLine()
    {
        var environment = new Dictionary<string, string> { [BpfSupport.PretendVariable] = BpfSupport.Memlock };
        // As root, the limit is named first (root has the capabilities), with what the maps need.
        const string Refused = "BPF is not available (creating the BPF map counts (N MiB of maps in all): Operation not permitted: " +
            "before Linux 5.11 BPF maps must fit the locked-memory limit, 64 KiB here (LimitMEMLOCK=infinity in a unit, ulimit -l unlimited in a shell))";
        static string Sized(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\(\d+\.\d MiB of maps in all\)", "(N MiB of maps in all)");
        // Where other tests beside it hold many descriptors, perf counters' look through /proc says it took more than one scan: not this test's matter.
        static IEnumerable<string> Said(string error) => Kvm.WithoutNoVmLine(error.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            .Where(l => !l.StartsWith("kvm_stat: finding VMs through /proc: ", StringComparison.Ordinal));
        // The host's totals alone fit (a row per CPU); the table of processes a per-guest view needs does not.
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio", "--json");
        Assert.Equal(0, code);
        Assert.StartsWith("{\"timestamp\":", output);
        Assert.Equal($"kvm_stat: counting with perf counters: {Refused}", Sized(Assert.Single(Said(error))));
        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio");
        Assert.Equal(0, code);
        Assert.Empty(Said(error));
        // --doctor says what runs do: BPF for the host's totals, perf counters for per-VM runs.
        (_, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor");
        Assert.Contains("warn  engine                BPF for the host's totals (-1, -l, the screen's first view); per-VM runs (the screen's b, --serve, --json's guests) " +
            $"count with perf counters: {Refused[..^1].Replace("BPF is not available (", "BPF is not available for them (", StringComparison.Ordinal)})", Sized(output));
        (_, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor", "--engine", "bpf");
        Assert.Contains("per-VM runs (the screen's b, --serve, --json's guests) stop with --engine bpf: BPF counting is not available: creating the BPF map counts", output);
        // With --latency the host's table has the latencies' maps too, beyond the limit: the run and --doctor both count with perf counters.
        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio", "--latency");
        Assert.Equal(0, code);
        Assert.StartsWith("kvm_stat: counting with perf counters: BPF is not available (", Assert.Single(Said(error)));
        (_, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor", "--latency");
        Assert.Contains("warn  engine                perf counters: BPF is not available (", output);
        Assert.DoesNotContain("fail  engine", output);
        // Without the pretence the same maps are made: this kernel charges none to the limit.
        (_, output, _) = ChildProcess.RunTool(s_timeout, "--doctor");
        Assert.Contains("ok    engine                BPF", output);
    }

    /// <summary>
    /// A kernel that counts with BPF but lacks what exit latencies need (batch lookup, Linux 5.6):
    /// counting stays with BPF; with --latency one line says latencies are not measured, and
    /// --doctor says the same.
    /// </summary>
    [Fact]
    public void WithoutBatchLookupBpfCountsAndOnlyLatenciesAreLeftOut()
    {
        Assert.Contains("batch map lookup (Linux 5.6 and later)", Assert.Throws<BpfException>(() => BpfSupport.RequireForLatency("batch")).Message);
        BpfSupport.Require("batch");
        var environment = new Dictionary<string, string> { [BpfSupport.PretendVariable] = "batch" };

        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio", "--verbose");
        Assert.Equal(0, code);
        Assert.StartsWith("kvm_pio ", output);
        Assert.Contains("kvm_stat: counting with BPF programs (in the kernel)", error);
        Assert.DoesNotContain("perf counters", error);

        (code, output, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "kvm_pio", "--latency");
        Assert.Equal(0, code);
        Assert.StartsWith("kvm_pio ", output);
        string line = Assert.Single(Kvm.WithoutNoVmLine(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.StartsWith("kvm_stat: exit latencies are not measured: this kernel lacks batch map lookup (Linux 5.6 and later): ", line);
        Assert.EndsWith("; counting goes on with BPF programs", line);
        // And in each record, where empty latencies are read (the exporter's kvm_stat_source_up 0).
        (code, output, _) = ChildProcess.RunTool(s_timeout, environment, "-1", "--json", "-s", "0.1", "-f", "kvm_pio", "--latency");
        Assert.Equal(0, code);
        using (JsonDocument record = JsonDocument.Parse(output))
        {
            JsonElement down = Assert.Single(record.RootElement.GetProperty("down").EnumerateArray());
            Assert.Equal("exit latency", down.GetProperty("source").GetString());
            Assert.StartsWith("exit latencies are not measured: this kernel lacks batch map lookup (Linux 5.6 and later): ", down.GetProperty("problem").GetString());
        }

        // Exit latencies alone: no field, and why.
        (code, _, error) = ChildProcess.RunTool(s_timeout, environment, "-1", "-s", "0.1", "-f", "user_exit", "--latency");
        Assert.Equal(2, code);
        Assert.DoesNotContain("perf counters", error);
        Assert.Contains("kvm_stat: error: no tracepoint field matches \"user_exit\".\nkvm_stat: Exit latencies are fields only where the BPF engine can time exits", error);
        // Two lines: what the engine would have said of latencies is said once a run has started.
        Assert.Equal(2, error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        (_, output, _) = ChildProcess.RunTool(s_timeout, environment, "--doctor", "-f", "user_exit_p99", "--latency");
        Assert.Contains("fail  fields                no tracepoint or debugfs field matches \"user_exit_p99\": a run stops.", output);
        Assert.Contains("ok    engine                BPF: programs load and attach", output);
        Assert.Contains("warn  latency programs      --latency times nothing here: this kernel lacks batch map lookup (Linux 5.6 and later): ", output);
        Assert.DoesNotContain("\nok    exit latency", output);
        Assert.Single(output.Split('\n'), l => l.Contains("--latency times", StringComparison.Ordinal));
    }

    /// <summary>--doctor takes --engine (here perf, where BPF works) and names the options that do not change its checks, as typed.</summary>
    [Fact]
    public void TheDoctorChecksTheEngineAskedForAndNamesWhatItDoesNotUse()
    {
        (int code, string output, string error) = ChildProcess.RunTool(s_timeout, "--doctor", "-s", "2", "--engine", "perf", "-f", "kvm_pio", "--once");
        Assert.Equal("", error);
        string[] lines = output.Split('\n');
        Assert.Equal("note  options               -s, --once do not change what --doctor checks (every source, every output); it takes --engine, --latency, --vcpus, --web-config-file, -f, --guest-fields, and -p or -g for one VM", lines[0]);
        Assert.Single(lines, l => l.StartsWith("ok    engine                perf counters (--engine perf): ", StringComparison.Ordinal));
        Assert.DoesNotContain("BPF table", output);
        Assert.True(code is 0 or 1);

        // --web-config-file alone goes with --doctor, which loads it.
        (code, output, error) = ChildProcess.RunTool(s_timeout, "--doctor", "--web-config-file", "/nonexistent.yml");
        Assert.Equal(("", 1), (error, code));
        Assert.Contains("fail  web config            --web-config-file /nonexistent.yml: cannot be read: ", output);
    }
}
