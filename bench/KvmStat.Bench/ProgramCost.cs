using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using KvmStat.Sources;
using KvmStat.Host;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;

namespace KvmStat.Bench;

/// <summary>
/// "programs [ROUNDS] [RUNS]": what each BPF program the engine loads costs per event, in the
/// kernel's own accounting (kernel.bpf_stats_enabled: run_time_ns / run_cnt of each program), from
/// runs of the loaded programs on synthetic events (BPF_PROG_TEST_RUN from this process, which the
/// per-process programs give a slot, so every run after the first hits the CPU's cache). The
/// variants run in a new random order each round; medians and spread over the rounds. An empty
/// program is the floor: what the kernel's accounting and the call into any program cost.
/// Classic tracepoint programs cannot be run so: their instructions are loaded as raw tracepoint
/// programs for this, reading a synthetic record at the same offsets.
/// </summary>
internal static partial class ProgramCost
{
    [StructLayout(LayoutKind.Sequential)]
    private struct InfoAttr
    {
        internal uint Fd;
        internal uint InfoLength;
        internal ulong Info;
    }

    [LibraryImport("libc.so.6", EntryPoint = "syscall", SetLastError = true)]
    private static unsafe partial long Bpf(long number, int command, void* attr, uint size);

    private const int ObjGetInfoByFd = 15, InfoSize = 232, RunTimeOffset = 192, RunCountOffset = 200;

    internal static int Run(int rounds, int runs)
    {
        var host = new HostPaths();
        Tracefs tracefs = Tracefs.Locate(host);
        string enabled = File.ReadAllText("/proc/sys/kernel/bpf_stats_enabled").Trim();
        File.WriteAllText("/proc/sys/kernel/bpf_stats_enabled", "1");
        try
        {
            using var descriptors = new CounterDescriptors();
            List<TracepointField> catalog = [.. TracepointCatalog.Discover(tracefs, ExitReasonSet.Vmx)];
            List<TracepointField> fields = FieldFilter.Create("kvm_(pio|exit|userspace_exit)").Select(catalog, f => f.Name, f => f.Parent);
            var engines = new Dictionary<string, BpfCounters>
            {
                ["host"] = new(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.Host),
                ["one process"] = new(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.OneProcess(Environment.ProcessId)),
                ["per process"] = new(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.EveryProcess),
            };
            var variants = new List<(string Name, BpfProgram Program, ulong[] Context)>();
            using BpfProgram empty = BpfProgram.Load(KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT,
                new BpfAssembler().Mov(BpfRegister.R0, 0).Exit().Build(), new Dictionary<string, BpfMap>(), "empty");
            variants.Add(("empty program (the floor)", empty, [0]));
            var raw = new List<BpfProgram>();
            foreach ((string scope, BpfCounters counters) in engines)
            {
                foreach (BpfProgram program in counters.Programs.Where(p => p.Name != BpfPrograms.ExitTracepoint))
                {
                    BpfProgram runnable = program;
                    if (program.Type != KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT)
                    {
                        runnable = BpfProgram.Load(KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, program.Code, program.Maps, program.Name);
                        raw.Add(runnable);
                    }
                    // kvm_exit's record: exit_reason 12 (HLT) at offset 8; kvm_userspace_exit's first argument: 2 (IO).
                    ulong[] context = program.Name switch { "kvm_exit" => Record(12), "kvm_userspace_exit" => [2, 0], _ => [1, 0x3f8, 1, 1] };
                    string kind = program.Type == KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT ? "raw" : "classic";
                    variants.Add(($"{program.Name} ({kind}, {scope})", runnable, context));
                }
            }
            var samples = variants.ToDictionary(v => v.Name, _ => new List<double>());
            var random = new Random(1);
            for (int round = 0; round < rounds; round++)
            {
                foreach ((string name, BpfProgram program, ulong[] context) in variants.OrderBy(_ => random.Next()))
                {
                    (ulong time0, ulong count0) = Stats(program);
                    for (int i = 0; i < runs; i++)
                        program.TestRun(context);
                    (ulong time1, ulong count1) = Stats(program);
                    samples[name].Add((double)(time1 - time0) / (count1 - count0));
                }
            }
            Console.WriteLine($"ns per event, {rounds} rounds of {runs} runs each (kernel.bpf_stats_enabled), median [min, max]:");
            foreach ((string name, List<double> values) in samples)
            {
                values.Sort();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name,-44} {values[values.Count / 2],6:F1} [{values[0]:F1}, {values[^1]:F1}]"));
            }
            LatencyPair(tracefs, host, descriptors, fields, rounds, runs);
            VcpuPair(tracefs, host, descriptors, fields, rounds, runs);
            SyscallTax(tracefs, host, descriptors, rounds, runs);
            foreach (BpfProgram program in raw)
                program.Dispose();
            foreach (BpfCounters counters in engines.Values)
                counters.Dispose();
            return 0;
        }
        finally
        {
            File.WriteAllText("/proc/sys/kernel/bpf_stats_enabled", enabled);
        }
    }

    /// <summary>
    /// What --latency adds per exit: the exit program that also stamps the thread, and the entry
    /// program (kvm_entry's) that ends the exit, run in turn as a vCPU would (exit, entry, exit...),
    /// per process; beside the same exit program without latencies.
    /// </summary>
    private static void LatencyPair(Tracefs tracefs, HostPaths host, CounterDescriptors descriptors, List<TracepointField> fields, int rounds, int runs)
    {
        using var plain = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.EveryProcess);
        using var timed = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.EveryProcess, latencyEntry: BpfPrograms.KvmEntry);
        BpfProgram without = plain.Programs.Single(p => p.Name == "kvm_userspace_exit");
        BpfProgram exit = timed.Programs.Single(p => p.Name == "kvm_userspace_exit"), entry = timed.Programs.Single(p => p.Name == BpfPrograms.KvmEntry);
        var samples = new List<double>[] { [], [], [] };
        ulong[] io = [2, 0], none = [0];
        for (int round = 0; round < rounds; round++)
        {
            (ulong t0, ulong c0) = Stats(without);
            for (int i = 0; i < runs; i++)
                without.TestRun(io);
            (ulong t1, ulong c1) = Stats(without);
            samples[0].Add((double)(t1 - t0) / (c1 - c0));
            (ulong e0, ulong n0) = Stats(exit);
            (ulong f0, ulong m0) = Stats(entry);
            for (int i = 0; i < runs; i++)
            {
                exit.TestRun(io);
                entry.TestRun(none);
            }
            (ulong e1, ulong n1) = Stats(exit);
            (ulong f1, ulong m1) = Stats(entry);
            samples[1].Add((double)(e1 - e0) / (n1 - n0));
            samples[2].Add((double)(f1 - f0) / (m1 - m0));
        }
        string[] names = ["kvm_userspace_exit (per process)", "kvm_userspace_exit (per process, --latency)", "kvm_entry (--latency: ends the exit)"];
        for (int i = 0; i < names.Length; i++)
        {
            samples[i].Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[i],-44} {samples[i][samples[i].Count / 2],6:F1} [{samples[i][0]:F1}, {samples[i][^1]:F1}]"));
        }
    }

    /// <summary>
    /// What --vcpus adds per event: kvm_pio per process, without and with a row per vCPU thread
    /// (this thread's, found by its id after the first run), and kvm_userspace_exit (IO) likewise,
    /// which with --vcpus also adds to its thread's entry of the reason; interleaved.
    /// </summary>
    private static void VcpuPair(Tracefs tracefs, HostPaths host, CounterDescriptors descriptors, List<TracepointField> fields, int rounds, int runs)
    {
        using var plain = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.EveryProcess);
        using var threads = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, attach: false, scope: BpfScope.EveryProcess, vcpus: true);
        ulong[] pio = [1, 0x3f8, 1, 1], io = [2, 0];
        var runsOf = new List<(BpfProgram Program, ulong[] Arguments)>();
        foreach (string tracepoint in new[] { "kvm_pio", "kvm_userspace_exit" })
        {
            ulong[] arguments = tracepoint == "kvm_pio" ? pio : io;
            runsOf.Add((Runnable(plain.Programs.Single(p => p.Name == tracepoint)), arguments));
            runsOf.Add((Runnable(threads.Programs.Single(p => p.Name == tracepoint)), arguments));
        }
        var samples = runsOf.Select(_ => new List<double>()).ToArray();
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                for (int p = 0; p < runsOf.Count; p++)
                {
                    (ulong t0, ulong c0) = Stats(runsOf[p].Program);
                    for (int i = 0; i < runs; i++)
                        runsOf[p].Program.TestRun(runsOf[p].Arguments);
                    (ulong t1, ulong c1) = Stats(runsOf[p].Program);
                    samples[p].Add((double)(t1 - t0) / (c1 - c0));
                }
            }
        }
        finally
        {
            foreach ((BpfProgram program, _) in runsOf)
                program.Dispose();
        }
        string[] names = ["kvm_pio (per process)", "kvm_pio (per process, --vcpus)", "kvm_userspace_exit (per process)", "kvm_userspace_exit (per process, --vcpus)"];
        for (int i = 0; i < names.Length; i++)
        {
            samples[i].Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {names[i],-44} {samples[i][samples[i].Count / 2],6:F1} [{samples[i][0]:F1}, {samples[i][^1]:F1}]"));
        }
    }

    /// <summary>A classic tracepoint program's instructions loaded as a raw tracepoint program, which BPF_PROG_TEST_RUN can run.</summary>
    private static BpfProgram Runnable(BpfProgram program) =>
        BpfProgram.Load(KvmStat.Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, program.Code, program.Maps, program.Name);

    [LibraryImport("libc.so.6", EntryPoint = "getppid")]
    private static partial int GetParentPid();

    /// <summary>
    /// What timing exits costs every other process where kvm_entry never fires: the entry program
    /// runs on each system call of the host (and leaves at once for any but ioctl). The time of a
    /// cheap system call (getppid) without and with it attached, interleaved; and the program's own
    /// accounting per call.
    /// </summary>
    private static void SyscallTax(Tracefs tracefs, HostPaths host, CounterDescriptors descriptors, int rounds, int runs)
    {
        List<TracepointField> fields = FieldFilter.Create("kvm_userspace_exit").Select(TracepointCatalog.Discover(tracefs, ExitReasonSet.Unknown), f => f.Name, f => f.Parent);
        var without = new List<double>();
        var with = new List<double>();
        var program = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            without.Add(TimeSyscalls(runs));
            using var counters = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }, scope: BpfScope.EveryProcess, latencyEntry: BpfPrograms.SyscallEntry);
            BpfProgram entry = counters.Programs.Single(p => p.Name == BpfPrograms.SyscallEntry);
            (ulong time0, ulong count0) = Stats(entry);
            with.Add(TimeSyscalls(runs));
            (ulong time1, ulong count1) = Stats(entry);
            program.Add((double)(time1 - time0) / Math.Max(1, count1 - count0));
        }
        without.Sort();
        with.Sort();
        program.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"getppid: {without[without.Count / 2]:F1} ns alone [{without[0]:F1}, {without[^1]:F1}], {with[with.Count / 2]:F1} ns with --latency's sys_enter program [{with[0]:F1}, {with[^1]:F1}]; the program itself {program[program.Count / 2]:F1} ns a call"));
    }

    private static double TimeSyscalls(int runs)
    {
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < runs; i++)
            GetParentPid();
        return Stopwatch.GetElapsedTime(started).TotalNanoseconds / runs;
    }

    /// <summary>A kvm_exit record as this kernel's format lays it out: the reason at offset 8, 72 bytes.</summary>
    private static ulong[] Record(uint reason)
    {
        ulong[] record = new ulong[9];
        record[1] = reason;
        return record;
    }

    private static unsafe (ulong RunTime, ulong RunCount) Stats(BpfProgram program)
    {
        byte* info = stackalloc byte[InfoSize];
        new Span<byte>(info, InfoSize).Clear();
        var attr = new InfoAttr { Fd = (uint)program.Descriptor, InfoLength = InfoSize, Info = (ulong)info };
        if (Bpf(KvmStat.Interop.Abi.SYS_bpf, ObjGetInfoByFd, &attr, (uint)sizeof(InfoAttr)) < 0)
            throw new InvalidOperationException($"BPF_OBJ_GET_INFO_BY_FD: {Marshal.GetLastPInvokeError()}");
        return (*(ulong*)(info + RunTimeOffset), *(ulong*)(info + RunCountOffset));
    }
}
