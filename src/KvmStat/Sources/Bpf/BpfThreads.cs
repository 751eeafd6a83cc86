using KvmStat.Guests;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The BPF engine's rows of vCPU threads (--vcpus; see <see cref="ThreadProgram"/>), read at each
/// capture: each thread goes to its VM, named once, when first seen, by its vCPU
/// (<see cref="VcpuThreads"/>). A thread that exited, or whose process runs no VM, gives its row
/// back: read once more at the next capture (events under way), then freed. Events of vCPU threads
/// for which no row was left are counted in <see cref="Lost"/>, and said; so are the exits whose
/// reason found no slot in their thread's row (<see cref="ReasonsLost"/>).
/// </summary>
/// <param name="shownFields">How many of the thread fields, from the first, are shown: the rest stamp exits for latencies only, and their lost events are not said.</param>
/// <param name="tracepoints">The field of each tracepoint a row counts, in the row's order: a thread's counts are by field, its tracepoints' and their reasons'.</param>
/// <param name="fieldCount">The engine's fields.</param>
internal sealed class BpfThreads(BpfTable table, VcpuThreads names, GuestFinder guests, Action<string> warn, int shownFields, IReadOnlyList<int> tracepoints, int fieldCount)
{
    private readonly BpfThread?[] _byRow = new BpfThread?[table.Layout.Threads + 1];
    private readonly long[] _row = new long[table.Layout.ThreadFields];
    private GrowthReport _lostReasonsReport;
    // Reasons lost by the threads that gave their rows back.
    private long _retiredReasonsLost;
    private readonly List<BpfThread> _retiring = [];
    private readonly List<BpfThread> _departed = [];
    private GrowthReport _lostReport;

    /// <summary>Per tracepoint: events of vCPU threads for which no row was left, since the start.</summary>
    internal long[] Lost { get; } = new long[table.Layout.ThreadFields];

    /// <summary>Captures at which a thread of no known vCPU is asked again which it runs; then it stays its thread id.</summary>
    internal const int IdentifyTries = 60;

    /// <summary>The events of <see cref="Lost"/> of the shown fields.</summary>
    internal long LostShown
    {
        get
        {
            long lost = 0;
            for (int i = 0; i < shownFields; i++)
                lost += Lost[i];
            return lost;
        }
    }

    /// <summary>Exits of the shown tracepoints whose reason could not be counted per vCPU since the start (their thread's slots were taken); their tracepoint's count has them.</summary>
    internal long ReasonsLost { get; private set; }

    /// <summary>Rows in use at the last capture (for tests of what stays bounded).</summary>
    internal int RowsInUse { get; private set; }

    /// <summary>Threads that left since the last sample, kept for it (for tests of what stays bounded).</summary>
    internal int Departed => _departed.Count;

    /// <param name="vmOf">The VM of a process id, or null where the process is no VM the engine knows (yet).</param>
    /// <param name="sample">A sample's capture, rather than one between samples (the exporter's follow).</param>
    internal void Capture(Func<int, BpfProcess?> vmOf, bool sample = true)
    {
        FinishRetiring(vmOf);
        long reasonsLost = _retiredReasonsLost;
        if (sample)
            _departed.Clear();
        int used = 0;
        for (int row = 1; row < _byRow.Length; row++)
        {
            long owner = table.ThreadOwner(row);
            BpfThread? thread = _byRow[row];
            int tgid = table.ThreadProcess(row);
            // Free, given back, or being placed (its owner written before its process).
            if (owner == 0 || thread is { Retiring: true } || tgid == 0)
                continue;
            used++;
            int tid = (int)(uint)owner;
            if (thread is null || thread.Tid != tid || thread.Tgid != tgid)
                _byRow[row] = thread = new BpfThread(names.Identify(tgid, tid), tgid, row, fieldCount, table.Layout.Latency);
            else if (thread.Reading.Index < 0 && thread.Unidentified++ < IdentifyTries && names.Identify(tgid, tid) is { Index: >= 0 } known)
            {
                // A busy vCPU thread of a VMM that names none is found in ioctl(KVM_RUN) only while it
                // waits there: asked again at each capture until it is (its row's counts go on under its vCPU).
                _byRow[row] = thread = new BpfThread(known, tgid, row, fieldCount, table.Layout.Latency) { Unclaimed = thread.Unclaimed };
            }
            reasonsLost += Read(thread);
            BpfProcess? vm = vmOf(tgid);
            // Its events of this interval are its VM's even when it exited in it.
            vm?.Threads.Add(thread);
            if ((owner & BpfTableLayout.OwnerExited) != 0)
                Retire(thread, exited: true);
            else if (vm is not null)
                thread.Unclaimed = 0;
            // A process whose first events came after this capture passed its row is known at the next.
            else if (++thread.Unclaimed > 1 || !guests.IsRunning(tgid))
                Retire(thread, exited: false);
        }
        RowsInUse = used;
        ReasonsLost = reasonsLost;
        table.ReadThreadRow(0, Lost);
        ReportLost();
    }

    /// <summary>A thread's row: its counts by field, and its latencies; returns its exits whose reason found no slot.</summary>
    private long Read(BpfThread thread)
    {
        table.ReadThreadRow(thread.Row, _row);
        for (int i = 0; i < _row.Length; i++)
            thread.Totals[tracepoints[i]] = _row[i];
        long reasonsLost = table.ReadThreadReasons(thread.Row, thread.Totals);
        if (thread.Reading.Latency is LatencyHistogram[] kinds)
        {
            for (int kind = 0; kind < kinds.Length; kind++)
                kinds[kind].Nanoseconds = table.ReadThreadLatency(thread.Row, kind, kinds[kind].Buckets);
        }
        return reasonsLost;
    }

    private void Retire(BpfThread thread, bool exited)
    {
        if (!exited)
            table.UnassignThread(thread.Tid);
        thread.Retiring = true;
        _retiring.Add(thread);
    }

    /// <summary>
    /// The threads that gave their rows back at the last capture: their last events, then their rows
    /// go back. Each stays its VM's, with them, until a sample's capture: the captures between
    /// samples (the exporter's follows) may have been the last to see it, and no sample would have
    /// its last events.
    /// </summary>
    private void FinishRetiring(Func<int, BpfProcess?> vmOf)
    {
        foreach (BpfThread thread in _retiring)
        {
            _retiredReasonsLost += Read(thread);
            table.ReleaseThread(thread.Row);
            _byRow[thread.Row] = null;
            _departed.Add(thread);
        }
        _retiring.Clear();
        // Nothing grows while no sample comes (no scrape): those of VMs that are gone leave at once
        // (in one pass), and beyond a table's worth of rows the oldest go (their VMs' counts keep
        // their events).
        int kept = 0;
        for (int i = 0; i < _departed.Count; i++)
        {
            if (vmOf(_departed[i].Tgid) is not null)
                _departed[kept++] = _departed[i];
        }
        _departed.RemoveRange(kept, _departed.Count - kept);
        if (_departed.Count > _byRow.Length)
            _departed.RemoveRange(0, _departed.Count - _byRow.Length);
        foreach (BpfThread thread in _departed)
            vmOf(thread.Tgid)!.Threads.Add(thread);
    }

    private void ReportLost()
    {
        if (_lostReasonsReport.Due(ReasonsLost, out long grownReasons))
            warn($"{ReasonsLost} exits of vCPU threads ({grownReasons} new) could not be counted per vCPU by reason: a thread's row has room for " +
                $"{table.Layout.ThreadReasons} reasons, and their threads met more; their vCPUs' counts of each tracepoint have them (said again when their number doubles).");
        long lost = LostShown;
        if (!_lostReport.Due(lost, out long grown))
            return;
        warn($"{lost} kvm events of vCPU threads ({grown} new) could not be counted per vCPU: " +
            $"the BPF table has rows for {table.Layout.Threads} threads and is full; they are counted as lost (their VMs' counts have them; said again when their number doubles).");
    }
}
