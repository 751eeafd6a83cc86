using System.Runtime.InteropServices;
using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Tracing;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Counts the selected tracepoint fields in the kernel, per process, with BPF programs (see
/// <see cref="CounterProgram"/>). Every process that raises a kvm event gets a slot, from its
/// first event on; a row of counters per slot lives in a per-CPU array. A capture reads the
/// slots in one call and the rows of the used ones, tells VM processes from the rest, and frees
/// the slots of processes that are gone once their last counts are taken. The host's totals, each
/// VM's, the events outside VMs and those of VMs that exited all come from the same capture, so
/// they add up exactly.
/// </summary>
internal sealed class BpfCounters : ICapture, IDisposable
{
    /// <summary>Slots for processes at most; fewer when the per-CPU rows of that many would take more than <see cref="MemoryBudget"/>.</summary>
    internal const int MaxSlots = 1024;

    private const long MemoryBudget = 64L << 20;
    private const int MaxReasonArray = 4096;

    private readonly List<TracepointField> _fields;
    private readonly HostPaths _paths;
    private readonly GuestFinder _guests;
    private readonly CounterDescriptors _perfDescriptors;
    private readonly BpfMap? _cache;
    private readonly BpfMap? _slotOf;
    private readonly BpfMap? _freeSlots;
    private readonly BpfMap? _counts;
    private readonly List<BpfMap> _reasonMaps = [];
    private readonly List<BpfProgram> _programs = [];
    private readonly List<Interop.FileDescriptor> _links = [];
    private readonly int _cpus;
    private readonly byte[] _rowBuffer;
    private readonly byte[] _slotKeys;
    private readonly byte[] _slotValues;
    private readonly DirectoryScanner _proc;
    private readonly List<long> _running = new(1024);
    private readonly Dictionary<int, Process> _processes = [];
    private readonly List<int> _gone = [];
    private readonly List<Interop.FileDescriptor> _perfLinks = [];
    private readonly byte[] _cacheZeros;
    private readonly int[] _vcpuEvidence;

    /// <summary>Tracepoints that fire only on a vCPU thread inside KVM_RUN: a process that raised one runs a VM.</summary>
    private static readonly HashSet<string> s_vcpuOnly = new(StringComparer.Ordinal)
    {
        "kvm_entry", "kvm_exit", "kvm_userspace_exit", "kvm_pio", "kvm_mmio", "kvm_fpu", "kvm_emulate_insn",
        "kvm_cpuid", "kvm_msr", "kvm_hypercall", "kvm_page_fault", "kvm_cr", "kvm_halt_poll_ns",
    };
    private readonly long[] _goneOutside;
    private readonly Action<string>? _warn;
    private readonly bool _attach;
    private long _unplacedReported;
    private int _users;

    /// <summary>One process that has a slot: its counts since its first event, and whether it runs a VM.</summary>
    internal sealed class Process(int tgid, uint slot, int fields)
    {
        internal int Tgid { get; } = tgid;
        internal uint Slot { get; } = slot;

        /// <summary>Decided once, at the capture that first reads the process.</summary>
        internal bool IsVm { get; set; }

        internal long[] Totals { get; } = new long[fields];

        /// <summary>Gone at the last capture: its counts are final, and its slot was freed.</summary>
        internal bool Gone { get; set; }
    }

    /// <param name="warn">Where to say that events could not be placed (the table is full).</param>
    /// <param name="capacity">Slots for this many processes (default: see <see cref="MaxSlots"/>).</param>
    /// <param name="attach">False loads the programs into the verifier without attaching them (tests of every variant).</param>
    /// <param name="scope">What the programs tell apart (default: every process).</param>
    internal BpfCounters(
        Tracefs tracefs, IReadOnlyList<TracepointField> fields, HostPaths paths, CounterDescriptors perfDescriptors, Action<string>? verbose,
        Action<string>? warn = null, int? capacity = null, bool attach = true, BpfScope? scope = null)
    {
        Scope = scope ?? BpfScope.EveryProcess;
        _warn = warn;
        _attach = attach;
        _fields = [.. fields];
        _paths = paths;
        _guests = new GuestFinder(paths);
        _perfDescriptors = perfDescriptors;
        _proc = new DirectoryScanner(paths.Proc);
        _cpus = OnlineCpus.Parse(SysFile.TryReadText(paths.CpuPossible) ?? "")?.Count ?? Environment.ProcessorCount;
        int stride = _fields.Count;
        Capacity = !Scope.PerProcess ? 0 : capacity ?? (int)Math.Clamp(MemoryBudget / ((long)stride * 8 * _cpus), 16, MaxSlots);
        _rowBuffer = new byte[stride * 8 * _cpus];
        _slotKeys = new byte[Capacity * 4];
        _slotValues = new byte[Capacity * 4];
        _cacheZeros = new byte[8 * _cpus];
        _goneOutside = new long[stride];
        _vcpuEvidence = [.. _fields.Select((f, i) => (f, i)).Where(p => !p.f.IsChild && s_vcpuOnly.Contains(p.f.Name)).Select(p => p.i)];
        // A program and its link per tracepoint, and the maps, are descriptors too.
        int parents = _fields.Count(f => !f.IsChild);
        perfDescriptors.EnsureRoom(2 * parents + 6, $"counting {stride} fields with {parents} BPF programs");
        Totals = new long[stride];
        Unplaced = new long[stride];
        OutsideVms = new long[stride];
        ExitedVms = new long[stride];
        try
        {
            if (Scope.PerProcess)
            {
                _cache = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, "kvm_stat_cache");
                _slotOf = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_HASH, 4, 4, Capacity, "kvm_stat_slots");
                _freeSlots = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_QUEUE, 0, 4, Capacity, "kvm_stat_free");
            }
            _counts = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_PERCPU_ARRAY, 4, stride * 8, Capacity + 1, "kvm_stat_counts");
            for (uint slot = 1; slot <= Capacity; slot++)
                Free(slot);
            var maps = new CounterProgram.Maps(_cache, _slotOf, _freeSlots, _counts, stride);
            foreach (TracepointField parent in _fields.Where(f => !f.IsChild))
                Attach(tracefs, parent, maps);
        }
        catch
        {
            Dispose();
            throw;
        }
        verbose?.Invoke(Scope.PerProcess
            ? $"BPF: {_programs.Count} programs, {stride} fields per process, room for {Capacity} processes"
            : $"BPF: {_programs.Count} programs, {stride} fields, one row for {(Scope.Pid > 0 ? $"process {Scope.Pid}" : "the host's totals")}");
    }

    internal BpfScope Scope { get; }

    internal IReadOnlyList<TracepointField> Fields => _fields;

    internal int Capacity { get; }

    /// <summary>Since the programs were attached: every event of every process, the unplaced ones and those of processes gone.</summary>
    internal long[] Totals { get; }

    /// <summary>Events of processes for which no slot was left (the table was full).</summary>
    internal long[] Unplaced { get; }

    /// <summary>Events outside VM processes (and the unplaced ones), since the start.</summary>
    internal long[] OutsideVms { get; }

    /// <summary>Events of VMs that exited before the last capture (one that exited in it is still among the processes).</summary>
    internal long[] ExitedVms { get; }

    /// <summary>The processes with a slot at the last capture, and those found gone in it (for that capture only).</summary>
    internal IReadOnlyDictionary<int, Process> Processes => _processes;

    /// <summary>Entries of the kernel's table of processes at the last capture (for tests of what stays bounded).</summary>
    internal int SlotsInUse { get; private set; }

    private void Attach(Tracefs tracefs, TracepointField parent, CounterProgram.Maps maps)
    {
        List<TracepointField> children = [.. _fields.Where(f => f.Parent == parent.Name)];
        CounterProgram.ReasonSpec? reasons = null;
        if (children.Count > 0)
            reasons = ReasonsOf(tracefs, parent, children);
        byte[] code = CounterProgram.Emit(new CounterProgram.Spec(_fields.IndexOf(parent), reasons), maps, Scope);
        BpfProgram program = BpfProgram.Load(
            reasons is null ? Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT : Interop.Abi.BPF_PROG_TYPE_TRACEPOINT, code, parent.Tracepoint);
        _programs.Add(program);
        if (!_attach)
            return;
        if (reasons is null)
        {
            _links.Add(program.AttachRawTracepoint(parent.Tracepoint));
            return;
        }
        // A perf event: it is handed off at exit like the perf engine's (its close waits for the kernel).
        Interop.FileDescriptor perf;
        try
        {
            perf = program.AttachTracepoint(parent.Tracepoint, tracefs.ReadId(parent.Tracepoint));
        }
        catch (BpfException e) when (e.Errno == Interop.Errno.EACCES)
        {
            // The kernel compares what the program reads with the record's real size.
            throw new BpfException(
                $"attaching to the tracepoint {parent.Tracepoint}, whose record does not reach offset {reasons.Offset} where its format file puts {children[0].ReasonField}",
                e.Errno);
        }
        _perfDescriptors.Track([perf]);
        _perfLinks.Add(perf);
    }

    /// <summary>Where a tracepoint's record keeps the reason, and which child counts each value.</summary>
    private CounterProgram.ReasonSpec ReasonsOf(Tracefs tracefs, TracepointField parent, List<TracepointField> children)
    {
        string field = children[0].ReasonField ?? throw new BpfException($"the children of {parent.Name} name no record field", Interop.Errno.EINVAL);
        TraceField? record = tracefs.ReadFormat(parent.Tracepoint)?.FindField(field);
        if (record is null || record.Offset < 0 || record.Size is not (1 or 2 or 4 or 8))
            throw new BpfException($"finding {parent.Tracepoint}'s field {field} in its format file", Interop.Errno.ENOENT);
        int other = children.FindIndex(c => c.ReasonValue is null);
        int otherIndex = other >= 0 ? _fields.IndexOf(children[other]) : _fields.IndexOf(parent);
        var small = new List<(uint Value, int Index)>();
        var large = new List<(ulong Value, int Index)>();
        foreach (TracepointField child in children)
        {
            if (child.ReasonValue is not long value)
                continue;
            ulong unsigned = TracepointCatalog.FilterValue(value, record);
            if (unsigned < MaxReasonArray)
                small.Add(((uint)unsigned, _fields.IndexOf(child)));
            else
                large.Add((unsigned, _fields.IndexOf(child)));
        }
        int entries = small.Count == 0 ? 1 : (int)small.Max(s => s.Value) + 1;
        BpfMap indexMap = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, 4, entries, "kvm_stat_reason");
        _reasonMaps.Add(indexMap);
        for (uint value = 0; value < entries; value++)
        {
            int index = otherIndex;
            foreach ((uint v, int i) in small)
            {
                if (v == value)
                    index = i;
            }
            uint key = value;
            uint data = (uint)index;
            int result = indexMap.Update(BpfMap.Key(ref key), BpfMap.Key(ref data), Interop.Abi.BPF_ANY);
            if (result < 0)
                throw new BpfException("filling the map of exit reasons", -result);
        }
        return new CounterProgram.ReasonSpec(record.Offset, record.Size, indexMap, large, otherIndex);
    }

    /// <summary>A source of this engine holds it: the engine is closed when its last source is.</summary>
    internal void AddUser() => _users++;

    internal void RemoveUser()
    {
        if (--_users == 0)
            Dispose();
    }

    /// <summary>Reads every used row, tells VMs from the rest, and frees the slots of processes that are gone.</summary>
    public void Capture()
    {
        if (!Scope.PerProcess)
        {
            ReadRow(0, Totals);
            return;
        }
        // Processes the last capture found gone were shown once with their final counts: from now
        // on those counts are the exited VMs' or the outside's.
        foreach (int tgid in _gone)
        {
            Process gone = _processes[tgid];
            Add(gone.IsVm ? ExitedVms : _goneOutside, gone.Totals);
            _processes.Remove(tgid);
        }
        _gone.Clear();

        int used = _slotOf!.LookupAll(_slotKeys, _slotValues);
        if (used < 0)
            throw new BpfException("reading the BPF map of processes", -used);
        SlotsInUse = used;
        if (_proc.TryScan(_running, DirectoryScanner.ParsePositive) != 0)
            _running.Clear();
        ReadOnlySpan<int> tgids = MemoryMarshal.Cast<byte, int>(_slotKeys.AsSpan(0, used * 4));
        ReadOnlySpan<uint> slots = MemoryMarshal.Cast<byte, uint>(_slotValues.AsSpan(0, used * 4));

        ReadRow(0, Unplaced);
        Array.Clear(Totals);
        Array.Clear(OutsideVms);
        Add(Totals, Unplaced);
        Add(Totals, ExitedVms);
        Add(Totals, _goneOutside);
        Add(OutsideVms, Unplaced);
        Add(OutsideVms, _goneOutside);
        for (int i = 0; i < used; i++)
        {
            int tgid = tgids[i];
            bool known = _processes.TryGetValue(tgid, out Process? process) && process.Slot == slots[i];
            if (!known)
            {
                process = new Process(tgid, slots[i], _fields.Count);
                _processes[tgid] = process;
            }
            ReadRow(process!.Slot, process.Totals);
            if (!known)
                process.IsVm = _guests.HoldsVm(tgid) ?? RanVcpu(process.Totals);
            if (_running.Count > 0 && _running.BinarySearch(tgid) < 0)
                Retire(process);
            Add(Totals, process.Totals);
            if (!process.IsVm)
                Add(OutsideVms, process.Totals);
        }
        ReportUnplaced();
    }

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

    /// <summary>Events that found no slot are counted (outside VMs) and said once each time their number grows.</summary>
    private void ReportUnplaced()
    {
        long unplaced = 0;
        for (int i = 0; i < _fields.Count; i++)
        {
            if (!_fields[i].IsChild)
                unplaced += Unplaced[i];
        }
        if (unplaced <= _unplacedReported)
            return;
        _warn?.Invoke($"{unplaced} kvm events ({unplaced - _unplacedReported} new) could not be attributed to a process: " +
            $"the BPF table has room for {Capacity} processes and is full; they are counted, outside VMs.");
        _unplacedReported = unplaced;
    }

    /// <summary>A process that is gone: its last counts are taken, then its slot is freed for another.</summary>
    private void Retire(Process process)
    {
        uint tgid = (uint)process.Tgid;
        _ = _slotOf!.Delete(BpfMap.Key(ref tgid));
        // Each CPU may still remember the process in its cache: all forget it, and look slots up again.
        uint zero = 0;
        _ = _cache!.Update(BpfMap.Key(ref zero), _cacheZeros, Interop.Abi.BPF_ANY);
        ReadRow(process.Slot, process.Totals);
        uint slot = process.Slot;
        Array.Clear(_rowBuffer);
        _ = _counts!.Update(BpfMap.Key(ref slot), _rowBuffer, Interop.Abi.BPF_ANY);
        Free(slot);
        process.Gone = true;
        _gone.Add(process.Tgid);
    }

    private void Free(uint slot) => _ = _freeSlots!.Update([], BpfMap.Key(ref slot), Interop.Abi.BPF_ANY);

    /// <summary>A slot's counters summed over the CPUs.</summary>
    private void ReadRow(uint slot, long[] totals)
    {
        uint key = slot;
        if (_counts!.Lookup(BpfMap.Key(ref key), _rowBuffer) != 0)
            return;
        ReadOnlySpan<long> perCpu = MemoryMarshal.Cast<byte, long>(_rowBuffer);
        int stride = _fields.Count;
        for (int field = 0; field < stride; field++)
        {
            long sum = 0;
            for (int cpu = 0; cpu < _cpus; cpu++)
                sum += perCpu[cpu * stride + field];
            totals[field] = sum;
        }
    }

    private static void Add(long[] into, long[] values)
    {
        for (int i = 0; i < into.Length; i++)
            into[i] += values[i];
    }

    public void Dispose()
    {
        // Links first: the programs stop running before their maps go.
        foreach (Interop.FileDescriptor link in _links)
            link.Dispose();
        _links.Clear();
        foreach (Interop.FileDescriptor perf in _perfLinks)
            _perfDescriptors.Release([perf]);
        _perfLinks.Clear();
        foreach (BpfProgram program in _programs)
            program.Dispose();
        _programs.Clear();
        foreach (BpfMap map in _reasonMaps)
            map.Dispose();
        _reasonMaps.Clear();
        _cache?.Dispose();
        _slotOf?.Dispose();
        _freeSlots?.Dispose();
        _counts?.Dispose();
    }
}
