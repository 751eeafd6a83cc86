using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Counts the selected tracepoint fields in the kernel with BPF programs (<see cref="BpfPrograms"/>
/// over a <see cref="BpfTable"/>). Per process, every process that raises a kvm event gets a slot
/// from its first event on; a capture reads the rows of the slots in use, tells VM processes from
/// the rest, and takes their slots from processes that exited or run no VM (read once more at the
/// next capture, then freed). The host's totals, each VM's, the events outside VMs, those of VMs
/// that exited and those no slot was left for all come from the same capture: they add up exactly.
/// With vCPU threads (--vcpus) the capture gives each VM (or, with -p, the one watched) its threads (<see cref="BpfThreads"/>).
/// </summary>
internal sealed partial class BpfCounters : ICapture, IDisposable
{
    private readonly TracepointFields _fields;
    private readonly GuestFinder _guests;
    private readonly BpfTable _table;
    private readonly BpfPrograms _programs;
    private readonly BpfProcess?[] _bySlot;
    private readonly Dictionary<int, BpfProcess> _vms = [];
    private readonly List<BpfProcess> _retiring = [];
    private readonly int[] _vcpuEvidence;
    private readonly long[] _exitedFinal;
    private readonly long[] _outsideFinal;
    private readonly long[] _outsideRow;
    private readonly Action<string> _warn;

    /// <summary>Where the engine and what reads it say what they cannot do (a line on stderr, or on the screen).</summary>
    internal Action<string> Warn => _warn;
    private readonly BpfLatency? _latency;
    private readonly BpfThreads? _threads;
    private readonly BpfProcess? _watched;
    private GrowthReport _unattributedReport;

    /// <param name="warn">Where to say that events could not be given to a process (the table is full).</param>
    /// <param name="capacity">Slots for this many processes (default: see <see cref="BpfTableLayout.For"/>).</param>
    /// <param name="attach">False loads the programs into the verifier without attaching them (tests).</param>
    /// <param name="scope">What the programs tell apart (default: every process).</param>
    /// <param name="latencyEntry">Exit latencies too, ended by this raw tracepoint (see <see cref="BpfPrograms"/>), or none.</param>
    /// <param name="vcpus">Count each vCPU thread too (a row per thread of tracepoint counters and, per process, slots for its exits' reasons).</param>
    /// <param name="threads">Rows for this many vCPU threads (default: see <see cref="BpfTableLayout.For"/>).</param>
    /// <param name="buckets">Room for this many latency buckets (default: see <see cref="BpfTableLayout.For"/>).</param>
    /// <param name="shown">The first this many fields are shown (default: all); those after are counted for latencies alone.</param>
    internal BpfCounters(
        Tracefs tracefs, IReadOnlyList<TracepointField> fields, HostPaths paths, CounterDescriptors perfDescriptors, Action<string>? verbose,
        Action<string> warn, int? capacity = null, bool attach = true, BpfScope? scope = null, string? latencyEntry = null,
        bool vcpus = false, int? threads = null, int? buckets = null, int? shown = null)
    {
        Scope = scope ?? BpfScope.EveryProcess;
        Shown = shown ?? fields.Count;
        _warn = warn;
        _fields = fields as TracepointFields ?? new TracepointFields(fields);
        Paths = paths;
        _guests = new GuestFinder(paths);
        int stride = _fields.Count;
        int possible = OnlineCpus.Possible();
        Tracepoints = [.. Enumerable.Range(0, stride).Where(i => !_fields[i].IsChild)];
        var layout = BpfTableLayout.For(stride, Scope, possible, capacity, latency: latencyEntry is not null,
            threadFields: vcpus ? Tracepoints.Count : 0, threads: threads, buckets: buckets, threadReasons: Scope.PerProcess && _fields.Take(Shown).Any(f => f.IsChild));
        _bySlot = new BpfProcess?[layout.Rows];
        _vcpuEvidence = [.. _fields.Select((f, i) => (f, i)).Where(p => !p.f.IsChild && BpfPrograms.VcpuOnly.Contains(p.f.Name)).Select(p => p.i)];
        Totals = new long[stride];
        Unattributed = new long[stride];
        OutsideVms = new long[stride];
        ExitedVms = new long[stride];
        _exitedFinal = new long[stride];
        _outsideFinal = new long[stride];
        _outsideRow = new long[stride];
        // A program and its link per tracepoint, and the maps, are descriptors too.
        int parents = _fields.Count(f => !f.IsChild);
        perfDescriptors.EnsureRoom(2 * parents + 10, $"counting {stride} fields with {parents} BPF programs");
        _table = BpfTable.Open(layout);
        // Until this constructor returns nothing owns what it made: a failure at any step closes
        // what is open (programs detach with their descriptors), not a finalizer some time later.
        try
        {
            _programs = new BpfPrograms(tracefs, _fields, _table, Scope, perfDescriptors, attach, latencyEntry, Shown);
            if (layout.PerThread)
            {
                _threads = new BpfThreads(_table, new VcpuThreads(paths), _guests, warn, Tracepoints.Count(i => i < Shown), Tracepoints, stride);
                _watched = Scope.PerProcess ? null : new BpfProcess(Scope.Pid, 0, stride);
            }
            if (latencyEntry is not null)
                (_latency, _stamping) = (new BpfLatency(_table, new ExitLatencies(_fields.Set,
                    BpfPrograms.EntryShown(latencyEntry))), StampingFields(latencyEntry));
        }
        catch
        {
            _programs?.Dispose();
            _table.Dispose();
            throw;
        }
        verbose?.Invoke(Scope.PerProcess
            ? $"BPF: {_programs.Loaded.Count} programs, {stride} fields per process, room for {layout.Capacity} processes{ThreadRoom(layout)} ({layout.MapBytes(_programs.ReasonMaps.Values.Select(m => m.MaxEntries)) >> 10} KiB of maps)"
            : $"BPF: {_programs.Loaded.Count} programs, {stride} fields, one row for {(Scope.Pid > 0 ? $"process {Scope.Pid}" : "the host's totals")}{ThreadRoom(layout)}" +
                (layout.PerThread ? $" ({layout.MapBytes() >> 10} KiB of maps)" : ""));
    }

    private static string ThreadRoom(BpfTableLayout layout) =>
        !layout.PerThread ? "" : layout.ThreadReasons > 0 ? $" and {layout.Threads} vCPU threads ({layout.ThreadReasons} exit reasons each)" : $" and {layout.Threads} vCPU threads";

    internal BpfScope Scope { get; }

    /// <summary>Where the host's /proc is (vCPU threads are named from it).</summary>
    internal HostPaths Paths { get; }

    internal TracepointFields Fields => _fields;

    /// <summary>How many of <see cref="Fields"/>, from the first, the sources show: the rest stamp exits for latencies only.</summary>
    internal int Shown { get; }

    /// <summary>The fields that are tracepoints (no exit reason), in order: what a vCPU thread's row counts.</summary>
    internal IReadOnlyList<int> Tracepoints { get; }

    /// <summary>With vCPU threads: per tracepoint, the events of vCPU threads no row was left for; else null.</summary>
    internal long[]? VcpusLost => _threads?.Lost;

    /// <summary>Those of <see cref="VcpusLost"/> of the shown fields, as every output counts them (0 without vCPU threads).</summary>
    internal long VcpusLostShown => _threads?.LostShown ?? 0;

    /// <summary>Exits of the shown tracepoints whose reason found no slot in their vCPU thread's row, since the start (0 without vCPU threads).</summary>
    internal long VcpuReasonsLost => _threads?.ReasonsLost ?? 0;

    /// <summary>The table of vCPU threads, for tests of what stays bounded; null without it.</summary>
    internal BpfThreads? Threads => _threads;

    internal BpfTableLayout Layout => _table.Layout;

    /// <summary>Where the capture asks which processes hold VMs.</summary>
    internal GuestFinder Guests => _guests;

    /// <summary>The loaded programs (one per tracepoint, and the exit program), for tests that run them.</summary>
    internal IReadOnlyList<BpfProgram> Programs => _programs.Loaded;

    /// <summary>The maps, for tests that check their memory.</summary>
    internal IEnumerable<BpfMap> Maps => _table.Maps.Values.Concat(_programs.ReasonMaps.Values);

    internal int Capacity => _table.Layout.Capacity;

    /// <summary>Since the programs were attached: every event of every process.</summary>
    internal long[] Totals { get; }

    /// <summary>Events of processes that run no VM, since the start.</summary>
    internal long[] OutsideVms { get; }

    /// <summary>Events of VMs that exited, since the start.</summary>
    internal long[] ExitedVms { get; }

    /// <summary>The VM processes with a slot at the last capture, by pid.</summary>
    internal IReadOnlyDictionary<int, BpfProcess> Vms => _vms;

    /// <summary>With exit latencies: the histograms of the last capture; else null.</summary>
    internal ExitLatencies? Latencies => _latency?.Latencies;

    /// <summary>Slots in use at the last capture (for tests of what stays bounded).</summary>
    internal int SlotsInUse { get; private set; }

    /// <summary>The vCPU threads of VM <paramref name="pid"/> at the last capture, by vCPU (none without --vcpus).</summary>
    internal IReadOnlyList<BpfThread> ThreadsOf(int pid) =>
        _watched is not null ? (pid == _watched.Tgid ? _watched.Threads : []) : _vms.TryGetValue(pid, out BpfProcess? vm) ? vm.Threads : [];

    private void CaptureTables(bool sample)
    {
        _latency?.Read();
        if (!Scope.PerProcess)
        {
            _table.ReadRow(0, Totals);
            CaptureThreads(sample);
            _latency?.Publish(_vms, Scope.Pid);
            return;
        }
        FinishRetiring();
        _vms.Clear();
        Array.Copy(_exitedFinal, ExitedVms, ExitedVms.Length);
        Array.Copy(_outsideFinal, OutsideVms, OutsideVms.Length);
        // What processes that run no VM counted since they gave their slots back.
        _table.ReadRow(_table.Layout.OutsideSlot, _outsideRow);
        Add(OutsideVms, _outsideRow);
        SlotsInUse = ReadSlots();
        _table.ReadRow(0, Unattributed);
        Array.Clear(Totals);
        Add(Totals, Unattributed);
        Add(Totals, ExitedVms);
        Add(Totals, OutsideVms);
        foreach (BpfProcess vm in _vms.Values)
            Add(Totals, vm.Totals);
        CaptureThreads(sample);
        _latency?.Publish(_vms, watched: 0);
        ReportUnattributed();
    }

    /// <summary>Gives each VM (or the one watched) its vCPU threads, by vCPU; on the refresh loop's path, so in steady state it allocates nothing (a thread of no known vCPU is asked again at its first 60 captures).</summary>
    private void CaptureThreads(bool sample)
    {
        if (_threads is null)
            return;
        if (_watched is not null)
            _watched.Threads.Clear();
        else
        {
            foreach (BpfProcess vm in _vms.Values)
                vm.Threads.Clear();
        }
        _threads.Capture(_vmOf ??= VmOf, sample);
        if (_watched is not null)
            _watched.Threads.Sort(s_byVcpu);
        else
        {
            foreach (BpfProcess vm in _vms.Values)
                vm.Threads.Sort(s_byVcpu);
        }
    }

    private static readonly Comparison<BpfThread> s_byVcpu =
        static (a, b) => (a.Reading.Index < 0, a.Reading.Index, a.Tid).CompareTo((b.Reading.Index < 0, b.Reading.Index, b.Tid));

    private Func<int, BpfProcess?>? _vmOf;

    /// <summary>The VM a thread's process is, at this capture (the one watched with -p/-g).</summary>
    private BpfProcess? VmOf(int tgid) => _watched is null ? _vms.GetValueOrDefault(tgid) : tgid == _watched.Tgid ? _watched : null;

    /// <summary>
    /// Whether a process that cannot be looked at (it exited before this capture, or its descriptors
    /// cannot be read) ran a vCPU: these tracepoints fire only inside KVM_RUN, on a vCPU thread.
    /// </summary>
    private bool RanVcpu(long[] row)
    {
        foreach (int field in _vcpuEvidence)
        {
            if (row[field] > 0)
                return true;
        }
        return false;
    }

    private static void Add(long[] into, long[] values)
    {
        for (int i = 0; i < into.Length; i++)
            into[i] += values[i];
    }

    public void Dispose()
    {
        _programs.Dispose();
        _table.Dispose();
    }
}
