using System.Buffers.Binary;
using KvmStat.Guests;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// The BPF engine over a fixture host for tests of its programs without a VM: this kernel's BPF,
/// tracepoints and record layouts from format files, and a /proc where the test says which
/// processes hold a VM. The programs are loaded as the tool loads them and not attached: events
/// come from <see cref="EventProcess"/>es that run them (BPF_PROG_TEST_RUN).
/// </summary>
internal sealed class SyntheticEngine : IDisposable
{
    private readonly CounterDescriptors _descriptors = new();
    private readonly List<BpfProgram> _raw = [];

    /// <param name="formats">Format files by tracepoint; kvm_pio and kvm_userspace_exit (from TestData) when not given.</param>
    /// <param name="hidden">A tracepoint counted but not shown (-f left it to latencies alone).</param>
    /// <param name="vcpus">Count per vCPU thread too (--vcpus), with rows for <paramref name="threads"/> threads (default: as the tool).</param>
    internal SyntheticEngine(ExitReasonSet reasons = ExitReasonSet.Vmx, int? capacity = null, BpfScope? scope = null,
        Dictionary<string, string>? formats = null, string pattern = "", string? latencyEntry = null, bool vcpus = false, int? threads = null, int? buckets = null,
        string? hidden = null)
    {
        Fixture = new FixtureRoot();
        // A fixture's possible CPUs are not the kernel's: the engine never reads them (AFixturesPossibleCpusAreNotTheKernels).
        Fixture.WriteFile("/sys/devices/system/cpu/possible", "0");
        Fixture.WriteFile("/sys/devices/system/cpu/online", File.ReadAllText("/sys/devices/system/cpu/online"));
        formats ??= new()
        {
            ["kvm_pio"] = FixtureRoot.TestData("kvm_pio.format"),
            ["kvm_userspace_exit"] = FixtureRoot.TestData("kvm_userspace_exit.format"),
            ["kvm_exit"] = FixtureRoot.TestData("kvm_exit.format"),
        };
        int id = 1;
        foreach ((string name, string format) in formats)
            Fixture.AddTracepoint(name, id++, format);
        Tracefs = Tracefs.Locate(Fixture.Paths);
        IReadOnlyList<TracepointField> catalog = TracepointCatalog.Discover(Tracefs, reasons);
        List<TracepointField> fields = FieldFilter.Create(pattern).Select(catalog, f => f.Name, f => f.Parent);
        // A hidden tracepoint (and its reasons) comes last and is not shown, as one counted only to stamp exits for latencies.
        int shown = fields.Count(f => (f.Parent ?? f.Name) != hidden);
        fields = [.. fields.Where(f => (f.Parent ?? f.Name) != hidden), .. fields.Where(f => (f.Parent ?? f.Name) == hidden)];
        // As the tool does: the reasons -f leaves out of a tracepoint it counts some reasons of.
        fields.AddRange(TracepointCatalog.UnselectedSiblings(fields[..shown], catalog));
        Warnings = [];
        Counters = new BpfCounters(Tracefs, fields, Fixture.Paths, _descriptors, verbose: null, Warnings.Add, capacity, attach: false, scope,
            latencyEntry: latencyEntry, vcpus: vcpus, threads: threads, buckets: buckets, shown: shown);
        Engine = new BpfEngine(Counters, new VmDiscovery(Fixture.Paths, TimeProvider.System, _ => { }));
    }

    internal FixtureRoot Fixture { get; }

    internal Tracefs Tracefs { get; }

    internal BpfCounters Counters { get; }

    internal BpfEngine Engine { get; }

    internal List<string> Warnings { get; }

    /// <summary>
    /// The program of a tracepoint, runnable by BPF_PROG_TEST_RUN: the tool's own, or for a classic
    /// tracepoint program (which the kernel's test runner cannot run) the same instructions and maps
    /// loaded as a raw tracepoint program, whose context is likewise bytes read at the record's offsets.
    /// </summary>
    internal BpfProgram Program(string tracepoint)
    {
        BpfProgram program = Counters.Programs.Single(p => p.Name == tracepoint);
        if (program.Type == Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT)
            return program;
        BpfProgram runnable = BpfProgram.Load(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, program.Code, program.Maps, program.Name);
        _raw.Add(runnable);
        return runnable;
    }

    /// <summary>The exit program (sched_process_exit).</summary>
    internal BpfProgram ExitProgram => Counters.Programs.Single(p => p.Name == BpfPrograms.ExitTracepoint);

    /// <summary>Makes a process a VM to the tool: a -name on its command line and a KVM VM descriptor.</summary>
    internal void MakeVm(int pid, string name)
    {
        Fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", name]);
        Fixture.MarkRunning(pid);
        Fixture.AddDescriptor(pid, 10, "anon_inode:kvm-vm");
    }

    /// <summary>The threads of a process as this host's /proc names them (their comm), in the fixture's /proc: where the tool reads them.</summary>
    internal void MirrorThreads(EventProcess process)
    {
        foreach (string task in Directory.EnumerateDirectories($"/proc/{process.Pid}/task"))
            Fixture.AddThread(process.Pid, int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture),
                File.ReadAllText(Path.Join(task, "comm")).TrimEnd('\n'));
    }

    /// <summary>A process the tool can look at, that holds no VM.</summary>
    internal void MakeOther(int pid)
    {
        Fixture.AddProcess(pid, ["/usr/bin/other"], comm: "other");
        Fixture.MarkRunning(pid);
    }

    /// <summary>A field's counter in a row of <see cref="Counters"/>.</summary>
    internal long Field(long[] row, string name) => row[Counters.Fields.ToList().FindIndex(f => f.Name == name)];

    /// <summary>Arguments of a raw tracepoint (8 bytes each), or a record (its bytes, padded to 8).</summary>
    internal static byte[] Arguments(params ulong[] values)
    {
        byte[] bytes = new byte[Math.Max(1, values.Length) * 8];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }

    /// <summary>A tracepoint record with <paramref name="value"/> in field <paramref name="field"/>, at the offset and size its format file gives.</summary>
    internal byte[] Record(string tracepoint, string field, ulong value)
    {
        TraceFormat format = Tracefs.ReadFormat(tracepoint)!;
        TraceField at = format.FindField(field)!;
        byte[] record = new byte[(at.Offset + at.Size + 7) / 8 * 8];
        for (int i = 0; i < at.Size; i++)
            record[at.Offset + i] = (byte)(value >> (8 * i));
        return record;
    }

    public void Dispose()
    {
        foreach (BpfProgram program in _raw)
            program.Dispose();
        Engine.Dispose();
        _descriptors.Dispose();
        Fixture.Dispose();
    }
}
