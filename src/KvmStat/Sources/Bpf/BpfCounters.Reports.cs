using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The counters' capture (at each sample, and between samples to follow VMs), and what they say
/// when something goes wrong there: a table the kernel refuses to read, a table full of processes.
/// </summary>
internal sealed partial class BpfCounters
{
    /// <summary>Reads the rows of the slots in use, tells VMs from the rest, and retires the slots of processes that are done.</summary>
    public void Capture() => Capture(sample: true);

    /// <summary>
    /// A capture between samples (the exporter's, every second), which gives back the slots and rows
    /// of what is done: vCPU threads that left meanwhile stay their VMs' until the next sample has them.
    /// </summary>
    internal void Follow() => Capture(sample: false);

    private void Capture(bool sample)
    {
        try
        {
            CaptureTables(sample);
            ReportUntimed();
            ReportUntimeable();
        }
        catch (BpfException e)
        {
            // The kernel refused a map operation mid-run: a plain error, as at the start.
            throw new EnvironmentException($"reading the BPF engine's tables failed: {e.Message}.",
                "Run kvm_stat again; if it fails again, count with perf counters: --engine perf.");
        }
    }

    /// <summary>
    /// Events that found no slot, since the start, as every output counts them: those of the shown
    /// fields (the stamping tracepoints of latencies are not kvm events the user chose), each once
    /// (an exit reason's events are its tracepoint's too).
    /// </summary>
    internal long UnattributedEvents
    {
        get
        {
            long unattributed = 0;
            for (int i = 0; i < Shown; i++)
            {
                if (!_fields[i].IsChild)
                    unattributed += Unattributed[i];
            }
            return unattributed;
        }
    }

    /// <summary>Events of processes for which no slot was left (the table was full), since the start.</summary>
    internal long[] Unattributed { get; }

    /// <summary>Exits counted before a run that timed none says so: as many as this with none timed is no chance.</summary>
    internal const long UntimedExits = 1000;

    private bool _untimedSaid;

    /// <summary>The fields of the tracepoints that stamp exits (with --latency).</summary>
    private readonly int[] _stamping = [];

    /// <summary>The fields of the tracepoints whose programs stamp exits that <paramref name="entry"/> ends.</summary>
    private int[] StampingFields(string entry)
    {
        return [.. Tracepoints.Where(i => BpfPrograms.StampsExits(_fields[i].Tracepoint, entry))];
    }

    /// <summary>
    /// Exits stamped and counted, none timed and none lost: what ends an exit here never fired (a
    /// kvm_entry this host's KVM does not trace, say). Said once, as the doctor says it, never a
    /// view of latencies that stays empty in silence.
    /// </summary>
    private void ReportUntimed()
    {
        if (_latency is null || _untimedSaid)
            return;
        long stamped = 0;
        foreach (int i in _stamping)
            stamped += Totals[i];
        ExitLatencies latencies = _latency.Latencies;
        if (stamped < UntimedExits || latencies.Lost > 0)
            return;
        foreach (LatencyHistogram histogram in latencies.Host.Values)
        {
            if (histogram.Buckets.AsSpan().IndexOfAnyExcept(0UL) >= 0)
                return;
        }
        _untimedSaid = true;
        _warn($"--latency: {stamped} exits counted and none timed: what ends an exit here ({latencies.Entry}) has not fired. " +
            "kvm_stat --doctor says whether it fires on this host; where it does not, exit latencies cannot be measured.");
    }

    private GrowthReport _lostLatencyReport;

    /// <summary>Exits whose time the full table of buckets could not keep are counted, and said at the first and each time their number doubles.</summary>
    private void ReportUntimeable()
    {
        if (_latency is null || !_lostLatencyReport.Due(_latency.Latencies.Lost, out long grown))
            return;
        _warn($"--latency: {_latency.Latencies.Lost} exits ({grown} new) could not be timed: the table of latency buckets has room for {_table.Layout.Buckets} and is full " +
            "(said again when their number doubles; every output counts them: exit_latency_lost, kvm_stat_exit_latency_lost_total). Fewer VMs timed at once (-p/-g) leave it room.");
    }

    /// <summary>Events that found no slot are counted, and said at the first and each time their number doubles.</summary>
    private void ReportUnattributed()
    {
        long unattributed = UnattributedEvents;
        if (!_unattributedReport.Due(unattributed, out long grown))
            return;
        _warn($"{unattributed} kvm events ({grown} new) could not be attributed to a process: " +
            $"the BPF table has room for {Capacity} processes and is full; they are counted as unattributed, and VMs without a slot as left out (said again when their number doubles). " +
            (Capacity < BpfTableLayout.MaxSlots
                ? "Fewer fields (-f), or no --latency or --vcpus, leave the table room for more processes; "
                : $"{BpfTableLayout.MaxSlots} processes are the most it holds: beyond them, --engine perf counts each VM apart (an open file per vCPU thread and tracepoint); ") +
            "a process that runs no VM gives its slot back at the capture that finds it (each -s interval, each second when serving) and takes none again.");
    }
}
