using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Cli;

/// <summary>--doctor's exit-latency lines: what --latency times here, and whether its programs load.</summary>
internal sealed partial class Doctor
{
    /// <summary>Why exits cannot be timed here (null where they can), probed once for the checks that ask.</summary>
    private readonly Lazy<BpfException?> _latencyRefusal = new(BpfSupport.LatencyRefusal);

    /// <summary>
    /// What --latency times here, by the choice the tool makes (<see cref="TracepointEngines.LatencyEntry"/>),
    /// and a warning where what fired contradicts it.
    /// </summary>
    /// <param name="bpf">Whether the BPF engine counts here: perf counters cannot time exits.</param>
    internal void CheckLatency(long entries, bool activity, bool bpf)
    {
        if (request.Engine == TracepointEngineChoice.Perf)
        {
            // What a run with --latency --engine perf says, as it stops.
            Line(request.Latency ? "fail" : "warn", "exit latency", "--latency times nothing with --engine perf: exit latencies are timed by the BPF engine only" +
                (request.Latency ? ". Leave out --engine perf." : ""));
            return;
        }
        if (!bpf)
        {
            Line("warn", "exit latency", "--latency times nothing here: BPF is not available (see engine), and perf counters cannot time exits");
            return;
        }
        // A kernel that lacks what latencies need times nothing, whatever ends exits: its line (latency programs) says why.
        if (_latencyRefusal.Value is not null)
            return;
        if (TracepointEngines.LatencyEntry(paths) == BpfPrograms.KvmEntry)
        {
            if (activity && entries == 0)
                Line("warn", "exit latency", "--latency ends exits at kvm_entry (VMX, SVM or arm64 found), but kvm_entry never fired although VMs ran: " +
                    "it would time no exit here");
            else
                Line("ok", "exit latency", "--latency times exits handled in the kernel and in user space, each until the vCPU's next VM entry (kvm_entry)");
            return;
        }
        string why = entries > 0 ? "kvm_entry fired, but neither VMX, SVM nor arm64 was found to read exit reasons by"
            : activity ? "kvm_entry never fired although VMs ran" : "kvm_entry is not expected to fire (neither VMX, SVM nor arm64)";
        Line("warn", "exit latency", $"{why}: --latency times only exits to user space, until the vCPU's next ioctl(KVM_RUN), " +
            "seen by a short program on every system call of the host");
    }

    /// <summary>
    /// Whether --latency's programs (the stamping exits and the entry that ends them) pass this
    /// kernel's verifier, as a run would load them; loaded, not attached, so nothing is timed meanwhile.
    /// </summary>
    private void CheckLatencyPrograms(Tracefs tracefs)
    {
        string entry = TracepointEngines.LatencyEntry(paths);
        List<TracepointField> fields = [.. Catalog(tracefs, ExitReasonSetDetector.Detect(paths)).Where(f => BpfPrograms.StampsExits(f.Tracepoint, entry))];
        if (fields.Count == 0)
            return;
        // As a run: where the kernel lacks what latencies need, it says so and counts on.
        if (_latencyRefusal.Value is BpfException refusal)
        {
            Line("warn", "latency programs", $"--latency times nothing here: {TracepointEngines.Describe(refusal)}; counting goes on with BPF programs");
            return;
        }
        try
        {
            using var programs = new BpfCounters(tracefs, fields, paths, _descriptors, verbose: null,
                // Not attached: nothing counts, so nothing goes unattributed.
                warn: _ => { }, attach: false, latencyEntry: entry);
            Line("ok", "latency programs", $"{programs.Programs.Count} programs for --latency pass this kernel's verifier (ending exits at {BpfPrograms.EntryShown(entry)})");
        }
        catch (BpfException e)
        {
            Line("fail", "latency programs", $"--latency would fail here: {TracepointEngines.Describe(e)}");
        }
    }
}
