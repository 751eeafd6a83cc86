using System.Text.Json;
using KvmStat.Exporter;
using KvmStat.Output;
using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;
using KvmStat.Tui;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// Counting per vCPU thread (--vcpus), with synthetic events on real threads of a test process:
/// threads named as QEMU names its vCPU threads ("CPU 0/KVM") run the engine's own programs, and
/// each thread's row is read back by vCPU.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfVcpuTests
{
    private static readonly byte[] s_pio = SyntheticEngine.Arguments(1, 0x3f8, 1, 1);
    private static readonly byte[] s_none = SyntheticEngine.Arguments(0);

    /// <summary>kvm_set_irq fires on any thread of a VMM (its main loop raises interrupts): it counts on a thread that has a row, and gives none.</summary>
    private const string SetIrqFormat = """
        name: kvm_set_irq
        ID: 9
        format:
        	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
        	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
        	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
        	field:int common_pid;	offset:4;	size:4;	signed:1;

        	field:unsigned int gsi;	offset:8;	size:4;	signed:0;
        	field:int level;	offset:12;	size:4;	signed:1;
        	field:int irq_source_id;	offset:16;	size:4;	signed:1;

        print fmt: "gsi %u level %d source %d", REC->gsi, REC->level, REC->irq_source_id
        """;

    private static byte[] UserspaceExit(uint reason) => SyntheticEngine.Arguments(reason, 0);

    private static Dictionary<string, string> Formats() => new()
    {
        ["kvm_pio"] = FixtureRoot.TestData("kvm_pio.format"),
        ["kvm_userspace_exit"] = FixtureRoot.TestData("kvm_userspace_exit.format"),
        ["kvm_exit"] = FixtureRoot.TestData("kvm_exit.format"),
        ["kvm_set_irq"] = SetIrqFormat,
    };

    /// <summary>Two vCPU threads of <paramref name="vm"/>, named as QEMU names them, and known to the engine.</summary>
    private static (int Cpu0, int Cpu1) TwoVcpus(SyntheticEngine engine, EventProcess vm)
    {
        int cpu0 = vm.Spawn("CPU 0/KVM"), cpu1 = vm.Spawn("CPU 1/KVM");
        engine.MirrorThreads(vm);
        return (cpu0, cpu1);
    }

    /// <summary>A thread's count of a field (a tracepoint, or an exit reason), by name: a thread's counts are by field.</summary>
    private static long Count(SyntheticEngine engine, BpfThread thread, string field) =>
        thread.Totals[Index(engine, field)];

    private static int Index(SyntheticEngine engine, string field) => engine.Counters.Fields.ToList().FindIndex(f => f.Name == field);

    /// <summary>A tracepoint's ordinal among the tracepoints: its counter in a thread's row, and in <see cref="BpfCounters.VcpusLost"/>.</summary>
    private static int Ordinal(SyntheticEngine engine, string tracepoint) =>
        engine.Counters.Tracepoints.ToList().FindIndex(i => engine.Counters.Fields[i].Name == tracepoint);

    [Fact]
    public void EachVcpuThreadIsCountedUnderItsVcpuAndTheVmKeepsEveryEvent()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "vcpus");
        int cpu1 = vm.Spawn("CPU 1/KVM"), cpu0 = vm.Spawn("CPU 0/KVM"), unnamed = vm.Spawn("vcpu-like"), worker = vm.Spawn("worker");
        engine.MirrorThreads(vm);
        BpfProgram pio = engine.Program("kvm_pio"), exit = engine.Program("kvm_userspace_exit"), irq = engine.Program("kvm_set_irq");
        byte[] gsi = engine.Record("kvm_set_irq", "gsi", 4);
        Assert.Equal(1, vm.RunOn(cpu0, pio, s_pio, count: 5));
        Assert.Equal(1, vm.RunOn(cpu0, irq, gsi, count: 4));
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 3));
        Assert.Equal(1, vm.RunOn(cpu1, exit, UserspaceExit(2), count: 2));
        Assert.Equal(1, vm.RunOn(unnamed, pio, s_pio, count: 7));
        // Threads that raise only what any thread raises have no row: the VM's counts have them.
        Assert.Equal(1, vm.RunOn(worker, irq, gsi, count: 6));
        Assert.Equal(1, vm.Run(irq, gsi, count: 1));
        engine.Counters.Capture();

        IReadOnlyList<BpfThread> threads = engine.Counters.ThreadsOf(vm.Pid);
        Assert.Equal(["vcpu0", "vcpu1", $"tid {unnamed}"], threads.Select(t => t.Reading.Label));
        Assert.Equal([cpu0, cpu1, unnamed], threads.Select(t => t.Tid));
        Assert.Equal([0, 1, -1], threads.Select(t => t.Reading.Index));
        Assert.Equal((5, 4, 0), (Count(engine, threads[0], "kvm_pio"), Count(engine, threads[0], "kvm_set_irq"), Count(engine, threads[0], "kvm_userspace_exit")));
        Assert.Equal((3, 0, 2), (Count(engine, threads[1], "kvm_pio"), Count(engine, threads[1], "kvm_set_irq"), Count(engine, threads[1], "kvm_userspace_exit")));
        // Each thread counts its exits' reasons too, as its VM does.
        Assert.Equal((0, 2, 0), (Count(engine, threads[0], "kvm_userspace_exit(IO)"), Count(engine, threads[1], "kvm_userspace_exit(IO)"), Count(engine, threads[1], "kvm_userspace_exit(MMIO)")));
        Assert.Equal(7, Count(engine, threads[2], "kvm_pio"));
        long[] row = engine.Counters.Vms[vm.Pid].Totals;
        Assert.Equal((15, 2, 11), (engine.Field(row, "kvm_pio"), engine.Field(row, "kvm_userspace_exit"), engine.Field(row, "kvm_set_irq")));
        Assert.Equal(3, engine.Counters.Threads!.RowsInUse);
        Assert.All(engine.Counters.VcpusLost!, v => Assert.Equal(0, v));

        // The per-VM source gives each VM's reading its threads, by vCPU.
        using IPerVmSource perVm = engine.Engine.OpenPerVm();
        var readings = new List<VmReading>();
        perVm.Read(readings);
        VmReading reading = Assert.Single(readings, r => r.Pid == vm.Pid && r.Kind == VmRowKind.Vm);
        Assert.Equal(["vcpu0", "vcpu1", $"tid {unnamed}"], reading.Vcpus.Select(v => v.Label));
        Assert.Equal(["kvm_exit", "kvm_pio", "kvm_set_irq", "kvm_userspace_exit"],
            perVm.VcpuFields.Where(i => !perVm.Fields[i].IsChild).Select(i => perVm.Fields[i].Name).Order(StringComparer.Ordinal));
        Assert.Contains(perVm.VcpuFields, i => perVm.Fields[i].Name == "kvm_userspace_exit(IO)");
        Assert.Equal(2, reading.Vcpus[1].Values[perVm.VcpuFields.First(i => perVm.Fields[i].Name == "kvm_userspace_exit(IO)")]);
    }

    /// <summary>
    /// A process that runs no VM and keeps raising events (a kworker or vhost worker raising guests'
    /// interrupts) gives its slot back once and counts on in the row outside VMs: it never takes a
    /// slot again, so thousands of them cannot fill the table, even with events only a vCPU raises;
    /// once it holds a VM (looked at again at each capture) its next event takes a slot, and it is
    /// a VM from the capture that reads it.
    /// </summary>
    [Fact]
    public void AProcessOutsideVmsTakesNoSlotAgainUntilItHoldsAVm()
    {
        using var engine = new SyntheticEngine(formats: Formats());
        using EventProcess worker = EventProcess.Start();
        engine.MakeOther(worker.Pid);
        BpfProgram irq = engine.Program("kvm_set_irq"), pio = engine.Program("kvm_pio");
        byte[] gsi = engine.Record("kvm_set_irq", "gsi", 4);
        long expected = 0;
        for (int capture = 0; capture < 4; capture++)
        {
            for (int cpu = 0; cpu < Math.Min(2, Environment.ProcessorCount); cpu++)
                Assert.Equal(1, worker.Run(irq, gsi, count: 3, cpu: cpu));
            expected += 3 * Math.Min(2, Environment.ProcessorCount);
            engine.Counters.Capture();
            Assert.Equal(expected, engine.Field(engine.Counters.OutsideVms, "kvm_set_irq"));
            Assert.Equal(expected, engine.Field(engine.Counters.Totals, "kvm_set_irq"));
            // The slot it took at its first event goes back at the capture after; none is taken again.
            Assert.Equal(capture == 0 ? 1 : 0, engine.Counters.SlotsInUse);
        }
        Assert.All(engine.Counters.Unattributed, v => Assert.Equal(0, v));
        // Events only a vCPU raises take no slot either while it holds no VM.
        Assert.Equal(1, worker.Run(pio, s_pio, count: 4));
        engine.Counters.Capture();
        Assert.Equal((4, 0), (engine.Field(engine.Counters.OutsideVms, "kvm_pio"), engine.Counters.SlotsInUse));

        // It makes a VM: the capture after that takes it out of the row outside VMs, its next events
        // take a slot, and it is a VM from the capture that reads it.
        engine.Fixture.AddDescriptor(worker.Pid, 10, "anon_inode:kvm-vm");
        engine.Counters.Capture();
        Assert.Equal(1, worker.Run(pio, s_pio, count: 5));
        Assert.Equal(1, worker.Run(irq, gsi, count: 2));
        engine.Counters.Capture();
        Assert.Equal((5, 2), (engine.Field(engine.Counters.Vms[worker.Pid].Totals, "kvm_pio"), engine.Field(engine.Counters.Vms[worker.Pid].Totals, "kvm_set_irq")));
        Assert.Equal(expected, engine.Field(engine.Counters.OutsideVms, "kvm_set_irq"));
        Assert.Equal(4, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
    }

    /// <summary>A process counted outside VMs that exits leaves no mark: a VM that gets its pid next is counted as itself.</summary>
    [Fact]
    public void APidOfAProcessOutsideVmsUsedAgainIsNotOutside()
    {
        using var engine = new SyntheticEngine(formats: Formats());
        BpfProgram irq = engine.Program("kvm_set_irq");
        byte[] gsi = engine.Record("kvm_set_irq", "gsi", 4);
        int pid;
        using (EventProcess worker = EventProcess.Start())
        {
            pid = worker.Pid;
            engine.MakeOther(pid);
            Assert.Equal(1, worker.Run(irq, gsi, count: 4));
            engine.Counters.Capture();
            engine.Counters.Capture();
            Assert.Equal(1, worker.Run(irq, gsi, count: 3));
            Assert.Equal(0, worker.Run(engine.ExitProgram));
            worker.Exit();
        }
        engine.MakeVm(pid, "next");
        using EventProcess vm = EventProcess.StartWithPid(pid);
        Assert.Equal(1, vm.Run(irq, gsi, count: 2));
        engine.Counters.Capture();
        Assert.Equal(2, engine.Field(engine.Counters.Vms[pid].Totals, "kvm_set_irq"));
        Assert.Equal(7, engine.Field(engine.Counters.OutsideVms, "kvm_set_irq"));
        Assert.Equal(9, engine.Field(engine.Counters.Totals, "kvm_set_irq"));
    }

    /// <summary>
    /// A vCPU thread of a VMM that names none is known by the vCPU descriptor it waits on in
    /// ioctl(KVM_RUN), which a busy one is seldom seen doing: it is asked again at each capture
    /// until it is, and its counts go on under its vCPU.
    /// </summary>
    [Fact]
    public void AThreadFirstSeenRunningIsKnownWhenItIsSeenInKvmRun()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "busy");
        int busy = vm.Spawn("worker");
        engine.MirrorThreads(vm);
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, vm.RunOn(busy, pio, s_pio, count: 4));
        engine.Counters.Capture();
        Assert.Equal($"tid {busy}", Assert.Single(engine.Counters.ThreadsOf(vm.Pid)).Reading.Label);

        // Seen waiting in ioctl(12, KVM_RUN), descriptor 12 being vCPU 2's.
        string ioctl = Interop.Abi.SYS_ioctl.ToString(System.Globalization.CultureInfo.InvariantCulture);
        engine.Fixture.WriteFile($"/proc/{vm.Pid}/task/{busy}/syscall", $"{ioctl} 0xc 0x{Interop.Abi.KVM_RUN:x} 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n");
        engine.Fixture.AddDescriptor(vm.Pid, 12, "anon_inode:kvm-vcpu:2");
        Assert.Equal(1, vm.RunOn(busy, pio, s_pio, count: 3));
        engine.Counters.Capture();
        BpfThread known = Assert.Single(engine.Counters.ThreadsOf(vm.Pid));
        Assert.Equal(("vcpu2", 2, busy), (known.Reading.Label, known.Reading.Index, known.Tid));
        Assert.Equal(7, Count(engine, known, "kvm_pio"));
    }

    /// <summary>
    /// With -p: a child per vCPU of each tracepoint field (kvm_pio(vcpu0)). A vCPU's thread that
    /// exits gives its row back (read once more, then freed) and its child keeps what it counted; a
    /// new thread of the same vCPU counts on in the same child. The VM's other threads count in the parent only.
    /// </summary>
    [Fact]
    public void OneVmsFieldsHaveAChildPerVcpuThatOutlivesItsThread()
    {
        using EventProcess vm = EventProcess.Start();
        using var engine = new SyntheticEngine(formats: Formats(), scope: BpfScope.OneProcess(vm.Pid), vcpus: true);
        engine.MakeVm(vm.Pid, "one");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        using IStatsSource source = engine.Engine.OpenHost(vm.Pid, new FieldSelection(FieldFilter.Create("kvm_pio|kvm_userspace_exit"), Children: true));
        List<string> names = [.. source.Fields.Select(f => f.Name)];
        Assert.Equal(["kvm_pio(vcpu0)", "kvm_pio(vcpu1)", "kvm_userspace_exit(vcpu0)", "kvm_userspace_exit(vcpu1)"], names.Where(n => n.Contains("(vcpu")));
        Assert.Equal("kvm_pio", source.Fields[names.IndexOf("kvm_pio(vcpu1)")].Parent);
        // Known as vCPUs, another set of children than a field's reasons (the screen shows them apart).
        Assert.Equal(names.Select(n => n.Contains("(vcpu", StringComparison.Ordinal)), source.Fields.Select(f => f.IsVcpu));
        long[] values = new long[names.Count];
        long Value(string name) => values[names.IndexOf(name)];
        void Sample()
        {
            engine.Counters.Capture();
            source.Read(values);
        }

        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, vm.RunOn(cpu0, pio, s_pio, count: 5));
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 3));
        Assert.Equal(1, vm.Run(pio, s_pio, count: 2));
        Sample();
        Assert.Equal((10, 5, 3), (Value("kvm_pio"), Value("kvm_pio(vcpu0)"), Value("kvm_pio(vcpu1)")));
        // A sample of the VM's vCPUs is on the refresh loop's path.
        Assert.Equal(0, Infrastructure.Allocations.InSteadyState(Sample));

        Assert.Equal(0, vm.RunOn(cpu1, engine.ExitProgram, s_none));
        vm.End(cpu1);
        Sample();
        Sample();
        Assert.Equal(2, engine.Counters.Threads!.RowsInUse);
        Assert.Equal((10, 5, 3), (Value("kvm_pio"), Value("kvm_pio(vcpu0)"), Value("kvm_pio(vcpu1)")));

        // vCPU 1 plugged again: a new thread, the same child.
        int again = vm.Spawn("CPU 1/KVM");
        engine.MirrorThreads(vm);
        Assert.Equal(1, vm.RunOn(again, pio, s_pio, count: 4));
        Sample();
        Assert.Equal((14, 5, 7), (Value("kvm_pio"), Value("kvm_pio(vcpu0)"), Value("kvm_pio(vcpu1)")));
        Assert.Equal(3, engine.Counters.Threads!.RowsInUse);
    }

    /// <summary>A full table of threads: a thread without a row is counted as lost (never nowhere) and said; its VM's counts are whole; a row freed is taken again.</summary>
    [Fact]
    public void AFullTableOfThreadsCountsWhatItCannotPlaceAsLostAndSaysSo()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 1);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "full");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, vm.RunOn(cpu0, pio, s_pio, count: 5));
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 3));
        engine.Counters.Capture();
        Assert.Equal(["vcpu0"], engine.Counters.ThreadsOf(vm.Pid).Select(t => t.Reading.Label));
        int pioOrdinal = Ordinal(engine, "kvm_pio");
        Assert.Equal(3, engine.Counters.VcpusLost![pioOrdinal]);
        Assert.Equal(8, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
        Assert.Contains(engine.Warnings, w => w.Contains("3 kvm events of vCPU threads", StringComparison.Ordinal) && w.Contains("rows for 1 threads", StringComparison.Ordinal));

        Assert.Equal(0, vm.RunOn(cpu0, engine.ExitProgram, s_none));
        vm.End(cpu0);
        engine.Counters.Capture();
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.Threads!.RowsInUse);
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 2));
        engine.Counters.Capture();
        BpfThread thread = Assert.Single(engine.Counters.ThreadsOf(vm.Pid));
        Assert.Equal(("vcpu1", 2L), (thread.Reading.Label, Count(engine, thread, "kvm_pio")));
        Assert.Equal(3, engine.Counters.VcpusLost![pioOrdinal]);
    }

    /// <summary>
    /// A vCPU's exits are counted by reason in slots of its own row that the reasons it meets take:
    /// past them an exit's reason is counted as lost (its tracepoint's count has it) and said, and
    /// another thread keeps all its slots; a row given back is cleared, so its next thread starts
    /// from none.
    /// </summary>
    [Fact]
    public void AThreadsReasonsPastItsSlotsAreLostAndSaidAndTakeNoOtherThreadsRoom()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 2);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "reasons");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        int slots = engine.Counters.Layout.ThreadReasons;
        Assert.Equal(BpfTableLayout.ReasonSlots, slots);
        // KVM_EXIT_UNKNOWN (0) to KVM_EXIT_HYPERV (27): a child each, in this order.
        for (uint reason = 0; reason < slots + 4; reason++)
            Assert.Equal(1, vm.RunOn(cpu0, exit, UserspaceExit(reason)));
        Assert.Equal(1, vm.RunOn(cpu1, exit, UserspaceExit(27), count: 100));
        engine.Counters.Capture();
        IReadOnlyList<BpfThread> threads = engine.Counters.ThreadsOf(vm.Pid);
        int[] children = [.. engine.Counters.Fields.Select((f, i) => (f, i)).Where(p => p.f.Parent == "kvm_userspace_exit").Select(p => p.i)];
        Assert.Equal(slots + 4, Count(engine, threads[0], "kvm_userspace_exit"));
        Assert.Equal(slots, children.Sum(i => threads[0].Totals[i]));
        // The 24 first reasons took the slots (KVM_EXIT_EPR is 23), the 4 after them found none.
        Assert.Equal((1, 1, 0, 0), (Count(engine, threads[0], "kvm_userspace_exit(UNKNOWN)"), Count(engine, threads[0], "kvm_userspace_exit(EPR)"),
            Count(engine, threads[0], "kvm_userspace_exit(SYSTEM_EVENT)"), Count(engine, threads[0], "kvm_userspace_exit(HYPERV)")));
        // The other thread's slots are its own.
        Assert.Equal((100, 100), (Count(engine, threads[1], "kvm_userspace_exit(HYPERV)"), children.Sum(i => threads[1].Totals[i])));
        Assert.Equal(4, engine.Counters.Threads!.ReasonsLost);
        Assert.Equal(4, engine.Counters.VcpuReasonsLost);
        Assert.Contains(engine.Warnings, w => w.StartsWith("4 exits of vCPU threads (4 new) could not be counted per vCPU by reason", StringComparison.Ordinal));
        // The VM's own counts have every reason.
        Assert.Equal(slots + 104, children.Sum(i => engine.Counters.Vms[vm.Pid].Totals[i]));

        Assert.Equal(0, vm.RunOn(cpu0, engine.ExitProgram, s_none));
        vm.End(cpu0);
        engine.Counters.Capture();
        engine.Counters.Capture();
        int again = vm.Spawn("CPU 0/KVM");
        engine.MirrorThreads(vm);
        Assert.Equal(1, vm.RunOn(again, exit, UserspaceExit(2), count: 3));
        Assert.Equal(1, vm.RunOn(again, exit, UserspaceExit(27)));
        engine.Counters.Capture();
        BpfThread next = Assert.Single(engine.Counters.ThreadsOf(vm.Pid), t => t.Tid == again);
        Assert.Equal((3, 1, 0), (Count(engine, next, "kvm_userspace_exit(IO)"), Count(engine, next, "kvm_userspace_exit(HYPERV)"), Count(engine, next, "kvm_userspace_exit(UNKNOWN)")));
        Assert.Equal(4, children.Sum(i => next.Totals[i]));
        // The gone thread's lost reasons stay counted.
        Assert.Equal(4, engine.Counters.Threads.ReasonsLost);
    }

    /// <summary>
    /// The reasons -f leaves out of a tracepoint it shows are counted (the tool counts every reason
    /// of a tracepoint it counts) but take no slot of a thread's row, nor count as lost: the reasons
    /// asked for keep their room.
    /// </summary>
    [Fact]
    public void ReasonsLeftOutTakeNoSlotOfAThreadsRow()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 1, pattern: @"kvm_pio|kvm_userspace_exit\(IO\)");
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "asked");
        int cpu0 = vm.Spawn("CPU 0/KVM");
        engine.MirrorThreads(vm);
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        // Every named reason but IO (2), then IO.
        for (uint reason = 0; reason <= 30; reason++)
        {
            if (reason != 2)
                Assert.Equal(1, vm.RunOn(cpu0, exit, UserspaceExit(reason)));
        }
        Assert.Equal(1, vm.RunOn(cpu0, exit, UserspaceExit(2), count: 10));
        engine.Counters.Capture();
        BpfThread thread = Assert.Single(engine.Counters.ThreadsOf(vm.Pid));
        Assert.Equal((40, 10), (Count(engine, thread, "kvm_userspace_exit"), Count(engine, thread, "kvm_userspace_exit(IO)")));
        Assert.Equal(0, Count(engine, thread, "kvm_userspace_exit(HLT)"));
        Assert.Equal(0, engine.Counters.VcpuReasonsLost);
        Assert.Empty(engine.Warnings);
    }

    /// <summary>
    /// A tracepoint -f leaves to latencies alone is counted, but its events are no lost or
    /// unattributed kvm events the outputs and warnings speak of: those count the shown fields.
    /// </summary>
    [Fact]
    public void EventsOfHiddenTracepointsAreNotSaidLostOrUnattributed()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 1, capacity: 1, hidden: "kvm_userspace_exit");
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(vm.Pid, "full");
        engine.MakeVm(other.Pid, "other");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        Assert.Equal(1, vm.RunOn(cpu0, exit, UserspaceExit(2), count: 2));
        Assert.Equal(1, vm.RunOn(cpu1, exit, UserspaceExit(2), count: 3));
        Assert.Equal(1, other.Run(exit, UserspaceExit(2), count: 4));
        engine.Counters.Capture();
        int ordinal = Ordinal(engine, "kvm_userspace_exit");
        // Counted: cpu1 and the other VM's thread found no row (3 + 4), the other VM no slot.
        Assert.Equal(7, engine.Counters.VcpusLost![ordinal]);
        Assert.Equal(4, engine.Counters.Unattributed[engine.Counters.Fields.ToList().FindIndex(f => f.Name == "kvm_userspace_exit")]);
        // Nor its reasons per vCPU: no slot of a thread's row is theirs.
        Assert.Equal(0, Count(engine, Assert.Single(engine.Counters.ThreadsOf(vm.Pid)), "kvm_userspace_exit(IO)"));
        // Not spoken of.
        Assert.Equal(0, engine.Counters.VcpusLostShown);
        Assert.Empty(engine.Warnings);

        Assert.Equal(1, vm.RunOn(cpu1, engine.Program("kvm_pio"), s_pio, count: 5));
        engine.Counters.Capture();
        Assert.Equal(5, engine.Counters.VcpusLostShown);
        Assert.Contains(engine.Warnings, w => w.StartsWith("5 kvm events of vCPU threads", StringComparison.Ordinal));
    }

    /// <summary>A VM none of whose threads is known as a vCPU has no vCPU children, and that is said, not left to look like vCPUs that counted nothing.</summary>
    [Fact]
    public void AVmWithoutAKnownVcpuThreadIsSaid()
    {
        using EventProcess vm = EventProcess.Start();
        using var engine = new SyntheticEngine(formats: Formats(), scope: BpfScope.OneProcess(vm.Pid), vcpus: true);
        engine.MakeVm(vm.Pid, "one");
        using IStatsSource source = engine.Engine.OpenHost(vm.Pid, new FieldSelection(FieldFilter.Create("kvm_pio"), Children: true));
        Assert.DoesNotContain(source.Fields, f => f.Name.Contains("(vcpu"));
        Assert.Contains(engine.Warnings, w => w.StartsWith($"--vcpus: no thread of process {vm.Pid} is known as a vCPU", StringComparison.Ordinal));
    }

    /// <summary>
    /// A capture is on the refresh loop's path: in steady state (no thread or VM comes or goes) it
    /// allocates nothing, with vCPU threads or without, with exit latencies or without (then the
    /// screen's rows of them and the latency fields are worked out from it without allocating too).
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public void ACaptureInSteadyStateAllocatesNothing(bool vcpus, bool latency)
    {
        using var engine = new SyntheticEngine(vcpus: vcpus, latencyEntry: latency ? BpfPrograms.KvmEntry : null);
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(vm.Pid, "steady");
        // A process outside VMs too, looked at again at every capture.
        engine.MakeOther(other.Pid);
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, vm.RunOn(cpu0, pio, s_pio));
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio));
        Assert.Equal(1, other.Run(pio, s_pio));
        if (latency)
            Assert.Equal(0, vm.Timed(engine.Program("kvm_userspace_exit"), UserspaceExit(2), TimeSpan.FromMicroseconds(20), engine.Program(BpfPrograms.KvmEntry), SyntheticEngine.Arguments(0), count: 3));
        var rows = new KvmStat.Tui.LatencyRows();
        var fields = engine.Counters.Latencies is ExitLatencies timed ? new LatencySource(timed, 0) : null;
        long[] values = new long[fields?.Fields.Count ?? 0];
        void Capture()
        {
            engine.Counters.Capture();
            rows.Update(engine.Counters.Latencies, engine.Counters.Latencies?.Host, 1);
            fields?.Read(values);
        }
        // A thread of no known vCPU (the main thread, with latencies) is asked again for its first captures.
        for (int i = 0; i < BpfThreads.IdentifyTries + 3; i++)
            Capture();
        Assert.Equal(latency ? 3UL : 0UL, engine.Counters.Latencies?.Host.Values.Aggregate(0UL, (sum, h) => sum + h.Count) ?? 0);
        // The timed exits ran on the process's main thread: with --vcpus a row of its own.
        Assert.Equal(vcpus ? (latency ? 3 : 2) : 0, engine.Counters.ThreadsOf(vm.Pid).Count);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            Capture();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(2, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
        Assert.Equal(1, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
    }

    /// <summary>An exit no slot was left for is one unattributed event, though its reason's child counts it too: so the warning and --doctor count.</summary>
    [Fact]
    public void AnUnattributedExitCountsOnceWithItsReason()
    {
        using var engine = new SyntheticEngine(formats: Formats(), capacity: 1);
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(vm.Pid, "vm");
        engine.MakeVm(other.Pid, "other");
        BpfProgram exit = engine.Program("kvm_userspace_exit");
        Assert.Equal(1, vm.Run(exit, UserspaceExit(2), count: 1));
        Assert.Equal(1, other.Run(exit, UserspaceExit(2), count: 4));
        engine.Counters.Capture();
        Assert.Equal(4, engine.Counters.UnattributedEvents);
        Assert.Contains(engine.Warnings, w => w.StartsWith("4 kvm events (4 new) could not be attributed", StringComparison.Ordinal));
    }

    /// <summary>
    /// 10,000 vCPU threads that come and go through a table of 8 rows leave none behind: every
    /// event counted per vCPU, none lost. So do the threads of a process that runs no VM.
    /// </summary>
    [Fact]
    public void TenThousandThreadsThatComeAndGoLeaveNoRowsBehind()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 8);
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(vm.Pid, "churn");
        engine.MakeOther(other.Pid);
        BpfProgram pio = engine.Program("kvm_pio");
        // A thread's count as the last capture that listed it read it (a thread that exited is listed
        // once more, by the capture that frees its row).
        var threads = new Dictionary<BpfThread, long>(ReferenceEqualityComparer.Instance);
        for (int round = 0; round < 2500; round++)
        {
            Assert.Equal(0, vm.Churn(4, pio, s_pio, engine.ExitProgram));
            engine.Counters.Capture();
            foreach (BpfThread thread in engine.Counters.ThreadsOf(vm.Pid))
                threads[thread] = Count(engine, thread, "kvm_pio");
        }
        long counted = threads.Values.Sum();
        int stays = other.Spawn("CPU 0/KVM");
        Assert.Equal(1, other.RunOn(stays, pio, s_pio));
        engine.Counters.Capture();
        engine.Counters.Capture();
        engine.Counters.Capture();
        Assert.Equal(10_000, counted);
        Assert.Equal(0, engine.Counters.Threads!.RowsInUse);
        Assert.All(engine.Counters.VcpusLost!, v => Assert.Equal(0, v));
        Assert.Equal(10_000, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
    }

    /// <summary>
    /// The exporter's follows keep the threads that left for the next sample; with no sample (no
    /// scrape) for a long time they stay bounded: a table's worth at most, none of a VM that is gone.
    /// </summary>
    [Fact]
    public void ThreadsKeptForTheNextSampleStayBoundedWithoutSamples()
    {
        using var engine = new SyntheticEngine(formats: Formats(), vcpus: true, threads: 8);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "churn");
        BpfProgram pio = engine.Program("kvm_pio");
        for (int round = 0; round < 250; round++)
        {
            Assert.Equal(0, vm.Churn(4, pio, s_pio, engine.ExitProgram));
            engine.Counters.Follow();
            Assert.InRange(engine.Counters.Threads!.Departed, 0, 9);
        }
        Assert.Equal(9, engine.Counters.Threads!.Departed);
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.Threads!.Departed);
        Assert.Equal(1000, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
    }

    /// <summary>
    /// With exit latencies: each vCPU thread's exits in its own histogram of their kind (handled in
    /// user space, or in the kernel), every exit counted, none below the bucket of the time waited.
    /// </summary>
    [Fact]
    public void EachVcpuTimesItsExitsByKind()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry, vcpus: true);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "timed");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        BpfProgram entry = engine.Program(BpfPrograms.KvmEntry);
        Assert.Equal(0, vm.TimedOn(cpu0, engine.Program("kvm_userspace_exit"), UserspaceExit(2), TimeSpan.FromMicroseconds(20), entry, s_none, count: 100));
        Assert.Equal(0, vm.TimedOn(cpu1, engine.Program("kvm_exit"), engine.Record("kvm_exit", "exit_reason", 12), TimeSpan.FromMicroseconds(200), entry, s_none, count: 50));
        engine.Counters.Capture();

        IReadOnlyList<BpfThread> threads = engine.Counters.ThreadsOf(vm.Pid);
        Assert.Equal(["vcpu0", "vcpu1"], threads.Select(t => t.Reading.Label));
        LatencyHistogram[] vcpu0 = threads[0].Reading.Latency!, vcpu1 = threads[1].Reading.Latency!;
        Assert.Equal((100UL, 0UL), (vcpu0[0].Count, vcpu0[1].Count));
        Assert.Equal((0UL, 50UL), (vcpu1[0].Count, vcpu1[1].Count));
        Assert.True(vcpu0[0].Buckets.Take(14).All(b => b == 0), string.Join(",", vcpu0[0].Buckets));
        Assert.True(vcpu1[1].Buckets.Take(17).All(b => b == 0), string.Join(",", vcpu1[1].Buckets));
        Assert.True(vcpu0[0].Nanoseconds >= 100 * 20_000UL, $"{vcpu0[0].Nanoseconds} ns");
        Assert.True(vcpu1[1].Nanoseconds >= 50 * 200_000UL, $"{vcpu1[1].Nanoseconds} ns");
        // The VM's histograms by reason are the same exits.
        ExitLatencies latencies = engine.Counters.Latencies!;
        int io = latencies.Fields.IndexOf("kvm_userspace_exit(IO)");
        int hlt = latencies.Fields.IndexOf("kvm_exit(HLT)");
        Assert.Equal((100UL, 50UL), (latencies.Vms[vm.Pid][io].Count, latencies.Vms[vm.Pid][hlt].Count));
    }

    /// <summary>
    /// The exporter follows VMs between scrapes with a capture of its own, once a second: a vCPU
    /// thread that made its last events and exited just before one, or several, keeps them in the
    /// next sample, and after.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(14)]
    public void AThreadThatExitedBetweenSamplesKeepsItsLastEvents(int follows)
    {
        using var engine = new SyntheticEngine(vcpus: true);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "follow");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        using Sampler sampler = Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0)], engine.Engine.OpenPerVm(), nameOf: _ => "follow",
            capture: engine.Counters);
        BpfProgram pio = engine.Program("kvm_pio");
        // kvm_pio's counter in a vCPU's counts (at its field's index).
        int counter = Index(engine, "kvm_pio");
        Assert.Equal(1, vm.RunOn(cpu0, pio, s_pio));
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 3));
        sampler.Sample();
        Assert.Equal(1, vm.RunOn(cpu1, pio, s_pio, count: 4));
        Assert.Equal(0, vm.RunOn(cpu1, engine.ExitProgram, s_none));
        vm.End(cpu1);
        for (int i = 0; i < follows; i++)
            sampler.Follow();
        for (int i = 0; i < 2; i++)
        {
            sampler.Sample();
            GuestStat guest = Assert.Single(sampler.Snapshot.Guests!.Guests);
            Assert.Equal(7, Assert.Single(guest.Vcpus, v => v.Index == 1).Totals[counter]);
        }
    }

    /// <summary>Every output of each VM's vCPUs from the engine's rows: JSON's "vcpus" and the exporter's series and histograms (valid for promtool).</summary>
    [Fact]
    public void EveryOutputShowsEachVcpu()
    {
        using var engine = new SyntheticEngine(latencyEntry: BpfPrograms.KvmEntry, vcpus: true);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "shown");
        (int cpu0, int cpu1) = TwoVcpus(engine, vm);
        ExitLatencies latencies = engine.Counters.Latencies!;
        using Sampler sampler = Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0)], engine.Engine.OpenPerVm(), nameOf: _ => "shown",
            capture: engine.Counters, latencies: latencies);
        sampler.Sample();
        Assert.Equal(1, vm.RunOn(cpu1, engine.Program("kvm_pio"), s_pio, count: 3));
        Assert.Equal(0, vm.TimedOn(cpu0, engine.Program("kvm_userspace_exit"), UserspaceExit(2), TimeSpan.FromMicroseconds(50),
            engine.Program(BpfPrograms.KvmEntry), s_none, count: 20));
        sampler.Sample();

        var text = new StringWriter();
        using (OutputSink sink = OutputSink.Stdout(text))
            new JsonRenderer(sink, skipZeroRecords: false).Render(sampler.Snapshot);
        using JsonDocument json = JsonDocument.Parse(text.ToString());
        JsonElement guest = Assert.Single(json.RootElement.GetProperty("guests").EnumerateArray(), g => g.GetProperty("pid").GetInt32() == vm.Pid);
        JsonElement vcpus = guest.GetProperty("vcpus");
        Assert.Equal(["vcpu0", "vcpu1"], vcpus.EnumerateObject().Select(p => p.Name));
        Assert.Equal(cpu1, vcpus.GetProperty("vcpu1").GetProperty("tid").GetInt32());
        Assert.Equal(3, vcpus.GetProperty("vcpu1").GetProperty("fields").GetProperty("kvm_pio").GetProperty("delta").GetInt64());
        Assert.Equal(20, vcpus.GetProperty("vcpu0").GetProperty("fields").GetProperty("kvm_userspace_exit").GetProperty("total").GetInt64());
        // What a vCPU never counted is left out, as a guest's fields are (absent is 0).
        Assert.Equal(["kvm_pio"], vcpus.GetProperty("vcpu1").GetProperty("fields").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["kvm_userspace_exit"], vcpus.GetProperty("vcpu0").GetProperty("fields").EnumerateObject().Select(p => p.Name));
        // Its exits' reasons as the tracepoint's children, as a guest's.
        Assert.Equal(20, vcpus.GetProperty("vcpu0").GetProperty("fields").GetProperty("kvm_userspace_exit").GetProperty("children").GetProperty("IO").GetProperty("total").GetInt64());
        Assert.Equal(["IO"], vcpus.GetProperty("vcpu0").GetProperty("fields").GetProperty("kvm_userspace_exit").GetProperty("children").EnumerateObject().Select(p => p.Name));
        JsonElement timed = vcpus.GetProperty("vcpu0").GetProperty("exit_latency").GetProperty("kvm_userspace_exit");
        Assert.Equal(20, timed.GetProperty("exits").GetInt64());
        Assert.True(timed.GetProperty("time_ns").GetInt64() >= 20 * 50_000, timed.ToString());
        Assert.Equal(0, json.RootElement.GetProperty("vcpus_lost").GetInt64());
        Assert.Equal(0, json.RootElement.GetProperty("vcpu_reasons_lost").GetInt64());

        List<MetricFamily> families = new MetricsFormatter(FieldFilter.Default, _ => { }).Format(sampler.Snapshot);
        string metrics = new MetricsWriter(openMetrics: false).Write(families);
        string labels = $"guest=\"shown\",pid=\"{vm.Pid}\"";
        Assert.Contains($"kvm_guest_vcpu_events_total{{{labels},vcpu=\"1\",event=\"kvm_pio\"}} 3\n", metrics);
        Assert.Contains($"kvm_guest_vcpu_events_total{{{labels},vcpu=\"0\",event=\"kvm_userspace_exit\"}} 20\n", metrics);
        Assert.Contains($"kvm_guest_vcpu_exit_handling_seconds_count{{{labels},vcpu=\"0\",event=\"kvm_userspace_exit\"}} 20\n", metrics);
        Assert.Contains($"kvm_guest_vcpu_exit_handling_seconds_bucket{{{labels},vcpu=\"0\",event=\"kvm_userspace_exit\",le=\"3.2768e-05\"}} 0\n", metrics);
        Assert.DoesNotContain("vcpu=\"1\",event=\"kvm_userspace_exit\"", metrics);
        // Per vCPU, as per guest: events, and their reasons apart (an exit is counted once in each).
        Assert.DoesNotContain("event=\"kvm_userspace_exit(IO)\"", metrics);
        Assert.Contains($"kvm_guest_vcpu_event_reasons_total{{{labels},vcpu=\"0\",event=\"kvm_userspace_exit\",reason=\"IO\"}} 20\n", metrics);
        Assert.DoesNotContain("vcpu=\"1\",event=\"kvm_userspace_exit\",reason", metrics);
        Assert.Contains("kvm_stat_vcpu_lost_events_total 0\n", metrics);
        Assert.Contains("kvm_stat_vcpu_lost_reasons_total 0\n", metrics);

        // The screen's guest view with 'x': the guest's vCPUs under it, each with its thread and its events.
        var app = new TuiApp(new SyntheticScreenBackend(engine, _ => "shown"), FieldFilter.Default, 0, null, 3.0, TimeProvider.System);
        app.Start();
        app.OnKey(Key.Of('b'));
        app.OnKey(Key.Of('x'));
        Assert.Equal(1, vm.RunOn(cpu1, engine.Program("kvm_pio"), s_pio, count: 5));
        app.Refresh();
        var grid = new ScreenGrid(24, 80);
        app.Draw(grid);
        string[] lines = grid.Lines();
        int row = Array.FindIndex(lines, l => l.StartsWith($" shown [{vm.Pid}] ", StringComparison.Ordinal));
        Assert.True(row > 0, string.Join("\n", lines));
        Assert.StartsWith($"   vcpu0 [{cpu0}] ", lines[row + 1]);
        // Its exits once, not again as their reasons.
        Assert.Equal("20", lines[row + 1][42..52].Trim());
        Assert.StartsWith($"   vcpu1 [{cpu1}] ", lines[row + 2]);
        // The Total column: vCPU 1's port writes since its thread's first event (3, then 5).
        Assert.Equal("8", lines[row + 2][42..52].Trim());
        if (File.Exists("/usr/bin/promtool"))
        {
            (int code, string output, string error) = ChildProcess.Run("/usr/bin/promtool", ["check", "metrics"], TimeSpan.FromSeconds(30), input: metrics);
            Assert.True(code == 0, output + error);
        }
    }
}
