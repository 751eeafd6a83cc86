using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// The programs of a field selection over one <see cref="BpfTable"/>: one per tracepoint, and per
/// process the exit program. Raw tracepoint programs wherever the event's arguments hold what is
/// counted (every tracepoint without children, and kvm_userspace_exit, whose first argument is its
/// reason); classic tracepoint programs, which read the record at the offset its format file gives,
/// for kvm_exit (its reason is read from the vCPU, not passed). Attached, they count until disposed.
/// </summary>
internal sealed class BpfPrograms : IDisposable
{
    /// <summary>Tracepoints whose reason is one of their arguments: its index and size (the kernel's TP_PROTO).</summary>
    private static readonly Dictionary<string, (int Index, int Size)> s_reasonArguments = new(StringComparer.Ordinal)
    {
        // TP_PROTO(__u32 reason, int errno) in include/trace/events/kvm.h; the record's reason is the same value.
        [TracepointCatalog.KvmUserspaceExit] = (0, 4),
    };

    private readonly List<BpfProgram> _programs = [];
    private readonly List<BpfMap> _reasonMaps = [];
    private readonly List<Interop.FileDescriptor> _links = [];
    private readonly List<Interop.FileDescriptor> _perfLinks = [];
    private readonly CounterDescriptors _perfDescriptors;

    /// <param name="attach">False loads the programs into the verifier without attaching them (tests of every variant).</param>
    /// <param name="latencyEntry">
    /// With exit latencies: what ends an exit, "kvm_entry" (the tracepoint) or "sys_enter" (the
    /// ioctl(KVM_RUN) system call, where kvm_entry never fires: then only exits to user space are timed).
    /// </param>
    /// <param name="shown">The first this many fields are shown: the reasons of the others (counted for latencies alone) are not counted per vCPU thread.</param>
    internal BpfPrograms(Tracefs tracefs, TracepointFields fields, BpfTable table, BpfScope scope, CounterDescriptors perfDescriptors, bool attach,
        string? latencyEntry = null, int shown = int.MaxValue)
    {
        _perfDescriptors = perfDescriptors;
        _latencyEntry = latencyEntry;
        _shown = shown;
        try
        {
            int tracepoint = 0;
            for (int i = 0; i < fields.Count; i++)
            {
                if (!fields[i].IsChild)
                    Add(tracefs, fields, i, tracepoint++, table, scope, attach);
            }
            if (latencyEntry is not null)
            {
                BpfProgram entry = Load(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, LatencyProgram.EmitEntry(syscall: latencyEntry == SyscallEntry, table.Layout),
                    table.Maps, latencyEntry);
                if (attach)
                    _links.Add(entry.AttachRawTracepoint(latencyEntry));
            }
            if (scope.PerProcess || table.Layout.PerThread || latencyEntry is not null)
            {
                BpfProgram exit = Load(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, CounterProgram.EmitExit(table.Layout), table.Maps, ExitTracepoint);
                if (attach)
                    _links.Add(exit.AttachRawTracepoint(ExitTracepoint));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The tracepoint the exit program runs on (sched:sched_process_exit).</summary>
    internal const string ExitTracepoint = "sched_process_exit";

    /// <summary>The raw tracepoints that end an exit, for latencies: a vCPU's next VM entry, or (where kvm_entry never fires) its next system call.</summary>
    internal const string KvmEntry = "kvm_entry", SyscallEntry = "sys_enter";

    /// <summary>How outputs name what ends an exit (<see cref="ExitLatencies.Entry"/>): "kvm_entry", or "ioctl(KVM_RUN)" for sys_enter.</summary>
    internal static string EntryShown(string latencyEntry) => latencyEntry == SyscallEntry ? "ioctl(KVM_RUN)" : latencyEntry;

    /// <summary>
    /// Whether the program of <paramref name="tracepoint"/> stamps exits for latencies ended by
    /// <paramref name="entry"/> (null without latencies): exits to user space end at the next
    /// entry, whichever ends it; kvm_exit's only at kvm_entry. The one answer for the programs,
    /// the fields counted for them and the check that exits were timed.
    /// </summary>
    internal static bool StampsExits(string tracepoint, string? entry) =>
        entry is not null && (tracepoint == TracepointCatalog.KvmUserspaceExit || (tracepoint == TracepointCatalog.KvmExit && entry == KvmEntry));

    private readonly string? _latencyEntry;
    private readonly int _shown;

    /// <summary>The loaded programs: one per counted tracepoint, named after it, and the exit program.</summary>
    internal IReadOnlyList<BpfProgram> Loaded => _programs;

    /// <summary>Each exit-reason map, by the tracepoint whose program uses it.</summary>
    internal Dictionary<string, BpfMap> ReasonMaps { get; } = new(StringComparer.Ordinal);

    /// <summary>Tracepoints that fire only on a vCPU thread inside KVM_RUN: a process that raised one runs a VM, a thread that raised one is a vCPU.</summary>
    internal static readonly HashSet<string> VcpuOnly = new(StringComparer.Ordinal)
    {
        KvmEntry, TracepointCatalog.KvmExit, TracepointCatalog.KvmUserspaceExit, "kvm_pio", "kvm_mmio", "kvm_fpu", "kvm_emulate_insn",
        "kvm_cpuid", "kvm_msr", "kvm_hypercall", "kvm_page_fault", "kvm_cr", "kvm_halt_poll_ns",
    };

    /// <param name="tracepoint">The tracepoint's ordinal among the counted ones: its counter in a thread's row.</param>
    private void Add(Tracefs tracefs, TracepointFields fields, int index, int tracepoint, BpfTable table, BpfScope scope, bool attach)
    {
        TracepointField parent = fields[index];
        IReadOnlyList<int> children = fields.ChildrenOf(index);
        CounterProgram.ReasonSpec? reasons = null;
        var maps = new Dictionary<string, BpfMap>(table.Maps, StringComparer.Ordinal);
        if (children.Count > 0)
        {
            (reasons, BpfMap reasonMap) = ReasonsOf(tracefs, fields, index, children);
            maps[CounterProgram.Reasons] = reasonMap;
            ReasonMaps[parent.Tracepoint] = reasonMap;
        }
        bool raw = reasons is null || reasons.Source == CounterProgram.ReasonSource.Argument;
        // Exits to user space end at the next entry, whichever ends it; other exits only at kvm_entry.
        bool stamps = reasons is not null && StampsExits(parent.Tracepoint, _latencyEntry);
        bool userspace = parent.Tracepoint == TracepointCatalog.KvmUserspaceExit;
        var spec = new CounterProgram.Spec(index, reasons, stamps, tracepoint, VcpuOnly.Contains(parent.Tracepoint),
            ExitKind: userspace ? 0 : LatencyProgram.KernelKind, EndsKernelPart: userspace && _latencyEntry == KvmEntry, ThreadReasonsBelow: index < _shown ? Math.Min(_shown, fields.Count) : 0);
        BpfCode code = CounterProgram.Emit(spec, table.Layout, scope);
        BpfProgram program = Load(raw ? Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT : Interop.Abi.BPF_PROG_TYPE_TRACEPOINT, code, maps, parent.Tracepoint);
        if (!attach)
            return;
        if (raw)
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
                $"attaching to the tracepoint {parent.Tracepoint}, whose record does not reach offset {reasons!.Offset} where its format file puts {fields[children[0]].ReasonField}",
                e.Errno);
        }
        _perfDescriptors.Track([perf]);
        _perfLinks.Add(perf);
    }

    private BpfProgram Load(uint type, BpfCode code, IReadOnlyDictionary<string, BpfMap> maps, string name)
    {
        BpfProgram program = BpfProgram.Load(type, code, maps, name);
        _programs.Add(program);
        return program;
    }

    /// <summary>Where a tracepoint's event keeps the reason, and which child counts each value (the map filled here).</summary>
    private (CounterProgram.ReasonSpec, BpfMap) ReasonsOf(Tracefs tracefs, TracepointFields fields, int parentIndex, IReadOnlyList<int> children)
    {
        TracepointField parent = fields[parentIndex];
        string field = fields[children[0]].ReasonField ?? throw new BpfException($"the children of {parent.Name} name no record field", Interop.Errno.EINVAL);
        TraceField? record = tracefs.ReadFormat(parent.Tracepoint)?.FindField(field);
        if (record is null || record.Offset < 0 || record.Size is not (1 or 2 or 4 or 8))
            throw new BpfException($"finding {parent.Tracepoint}'s field {field} in its format file", Interop.Errno.ENOENT);
        // The child that counts every other reason, else the parent itself.
        int otherIndex = parentIndex;
        foreach (int child in children)
        {
            if (fields[child].ReasonValue is null)
            {
                otherIndex = child;
                break;
            }
        }
        var small = new SortedDictionary<uint, int>();
        var large = new List<(ulong Value, int Index)>();
        foreach (int child in children)
        {
            if (fields[child].ReasonValue is not long value)
                continue;
            ulong unsigned = TracepointCatalog.FilterValue(value, record);
            if (unsigned < BpfTableLayout.MaxReasonArray)
                small[(uint)unsigned] = child;
            else
                large.Add((unsigned, child));
        }
        int entries = small.Count == 0 ? 1 : (int)small.Keys.Max() + 1;
        BpfMap map = BpfMap.Create(Interop.Abi.BPF_MAP_TYPE_ARRAY, 4, 4, entries, CounterProgram.Reasons);
        _reasonMaps.Add(map);
        for (uint value = 0; value < entries; value++)
        {
            uint key = value;
            uint index = (uint)(small.TryGetValue(value, out int child) ? child : otherIndex);
            int result = map.Update(BpfMap.Key(ref key), BpfMap.Key(ref index), Interop.Abi.BPF_ANY);
            if (result < 0)
                throw new BpfException("filling the map of exit reasons", -result);
        }
        CounterProgram.ReasonSpec spec = s_reasonArguments.TryGetValue(parent.Tracepoint, out (int Index, int Size) argument) && argument.Size == record.Size
            ? new(CounterProgram.ReasonSource.Argument, argument.Index * 8, argument.Size, entries, large, otherIndex)
            : new(CounterProgram.ReasonSource.Record, record.Offset, record.Size, entries, large, otherIndex);
        return (spec, map);
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
    }
}
