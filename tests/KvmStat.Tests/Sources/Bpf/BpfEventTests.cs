using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>
/// The programs the BPF engine loads, run on synthetic events from real processes and threads of
/// the test (BPF_PROG_TEST_RUN), read back through the engine's maps and captures: no VM needed.
/// </summary>
[Collection(BpfCollection.Name)]
public class BpfEventTests
{
    private static readonly byte[] s_pio = SyntheticEngine.Arguments(1, 0x3f8, 1, 1);

    private static byte[] UserspaceExit(uint reason) => SyntheticEngine.Arguments(reason, 0);

    private static int Cpus => KvmStat.Host.OnlineCpus.Read(new KvmStat.Host.HostPaths()).Count;

    [Fact]
    public void EachProcessAndThreadIsCountedExactlyOnEveryCpu()
    {
        using var engine = new SyntheticEngine();
        using EventProcess a = EventProcess.Start(), b = EventProcess.Start();
        engine.MakeVm(a.Pid, "a");
        engine.MakeVm(b.Pid, "b");
        BpfProgram pio = engine.Program("kvm_pio"), exits = engine.Program("kvm_userspace_exit");
        engine.Counters.Capture();
        for (int cpu = 0; cpu < Cpus; cpu++)
        {
            Assert.Equal(1, a.Run(pio, s_pio, count: 100, cpu: cpu));
            Assert.Equal(1, a.RunInThread(pio, s_pio, count: 10, cpu: cpu).Result);
            Assert.Equal(1, b.Run(exits, UserspaceExit(2), count: 7, cpu: cpu));
            Assert.Equal(1, b.RunInThread(exits, UserspaceExit(5), count: 3, cpu: cpu).Result);
        }
        engine.Counters.Capture();

        long[] ra = engine.Counters.Vms[a.Pid].Totals, rb = engine.Counters.Vms[b.Pid].Totals;
        Assert.Equal(110 * Cpus, engine.Field(ra, "kvm_pio"));
        Assert.Equal(0, engine.Field(ra, "kvm_userspace_exit"));
        Assert.Equal(0, engine.Field(rb, "kvm_pio"));
        Assert.Equal(10 * Cpus, engine.Field(rb, "kvm_userspace_exit"));
        Assert.Equal(7 * Cpus, engine.Field(rb, "kvm_userspace_exit(IO)"));
        Assert.Equal(3 * Cpus, engine.Field(rb, "kvm_userspace_exit(HLT)"));
        Assert.Equal(110 * Cpus, engine.Field(engine.Counters.Totals, "kvm_pio"));
        Assert.All(engine.Counters.Unattributed, v => Assert.Equal(0, v));
    }

    /// <summary>An arm64 kernel's kvm_exit: the exception class (esr_ec) is the reason.</summary>
    internal const string Arm64KvmExit = """
        name: kvm_exit
        ID: 77
        format:
        	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
        	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
        	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
        	field:int common_pid;	offset:4;	size:4;	signed:1;

        	field:int ret;	offset:8;	size:4;	signed:1;
        	field:unsigned int esr_ec;	offset:12;	size:4;	signed:0;
        	field:unsigned long vcpu_pc;	offset:16;	size:8;	signed:0;

        print fmt: "%s: HSR_EC: 0x%04x (%s), PC: 0x%016lx", __print_symbolic(REC->ret, { 0, "IRQ" }, { 1, "TRAP" }), REC->esr_ec, __print_symbolic(REC->esr_ec, { 0x00, "UNKNOWN" }, { 0x01, "WFx" }, { 0x16, "HVC64" }, { 0x24, "DABT_LOW" }, { 0x3C, "BRK64" }), REC->vcpu_pc
        """;

    /// <summary>
    /// kvm_exit's reason read from the record at the offset its format file gives, for each
    /// encoding: named reasons go to their child, unknown ones (small, or beyond the reason array,
    /// or the width's largest value) to OTHER, and the children add up to their parent.
    /// </summary>
    [Theory]
    [InlineData("Vmx", "exit_reason", 12UL, "HLT")]
    [InlineData("Vmx", "exit_reason", 30UL, "IO_INSTRUCTION")]
    [InlineData("Vmx", "exit_reason", 1000UL, "OTHER")]
    [InlineData("Vmx", "exit_reason", 0x80000021UL, "OTHER")]
    [InlineData("Svm", "exit_reason", 0x78UL, "HLT")]
    [InlineData("Svm", "exit_reason", 0x400UL, "NPF")]
    [InlineData("Svm", "exit_reason", 0xffffffffUL, "INVALID_GUEST_STATE")]
    [InlineData("Svm", "exit_reason", 0x80000001UL, "VMGEXIT_MMIO_READ")]
    [InlineData("Svm", "exit_reason", 0x12345678UL, "OTHER")]
    [InlineData("Svm", "exit_reason", 0x3ffUL, "OTHER")]
    [InlineData("AArch64", "esr_ec", 0x01UL, "WFX")]
    [InlineData("AArch64", "esr_ec", 0x24UL, "DABT_LOW")]
    [InlineData("AArch64", "esr_ec", 0x15UL, "SVC64")]
    [InlineData("AArch64", "esr_ec", 0x3fUL, "OTHER")]
    [InlineData("AArch64", "esr_ec", 0xffffffffUL, "OTHER")]
    public void ExitReasonsGoToTheirChildren(string encoding, string field, ulong reason, string child)
    {
        var formats = new Dictionary<string, string>
        {
            ["kvm_exit"] = encoding == "AArch64" ? Arm64KvmExit : FixtureRoot.TestData("kvm_exit.format"),
            ["kvm_pio"] = FixtureRoot.TestData("kvm_pio.format"),
        };
        using var engine = new SyntheticEngine(Enum.Parse<ExitReasonSet>(encoding), formats: formats);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "exits");
        BpfProgram exit = engine.Program("kvm_exit");
        Assert.Equal(1, vm.Run(exit, engine.Record("kvm_exit", field, reason), count: 3));
        Assert.Equal(1, vm.Run(exit, engine.Record("kvm_exit", field, encoding switch { "AArch64" => 0x16UL, "Svm" => 0x72UL, _ => 10UL }), count: 2));
        engine.Counters.Capture();

        long[] row = engine.Counters.Vms[vm.Pid].Totals;
        Assert.Equal(5, engine.Field(row, "kvm_exit"));
        Assert.Equal(3, engine.Field(row, $"kvm_exit({child})"));
        long children = engine.Counters.Fields.Select((f, i) => (f, i)).Where(p => p.f.Parent == "kvm_exit").Sum(p => row[p.i]);
        Assert.Equal(5, children);
    }

    /// <summary>kvm_userspace_exit's reason is its first argument: a raw tracepoint program reads it there.</summary>
    [Fact]
    public void ExitsToUserSpaceAreCountedByTheirReasonFromTheArguments()
    {
        using var engine = new SyntheticEngine();
        BpfProgram program = engine.Program("kvm_userspace_exit");
        Assert.Equal(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, program.Type);
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "user");
        foreach ((uint reason, int count) in new[] { (2u, 4), (6u, 3), (5u, 1), (4000u, 2), (0xfffffffeu, 1) })
            Assert.Equal(1, vm.Run(program, UserspaceExit(reason), count));
        engine.Counters.Capture();
        long[] row = engine.Counters.Vms[vm.Pid].Totals;
        Assert.Equal(11, engine.Field(row, "kvm_userspace_exit"));
        Assert.Equal(4, engine.Field(row, "kvm_userspace_exit(IO)"));
        Assert.Equal(3, engine.Field(row, "kvm_userspace_exit(MMIO)"));
        Assert.Equal(1, engine.Field(row, "kvm_userspace_exit(HLT)"));
        Assert.Equal(3, engine.Field(row, "kvm_userspace_exit(OTHER)"));
    }

    /// <summary>
    /// -f that chooses some reasons of a tracepoint: the others are counted once, on the parent
    /// alone (no child to give them to, and never the parent a second time).
    /// </summary>
    [Theory]
    [InlineData(@"kvm_userspace_exit\(IO\)")]
    [InlineData(@"kvm_userspace_exit\((IO|MMIO)\)")]
    public void ReasonsThatFNamesNotAreCountedOnlyOnTheirParent(string pattern)
    {
        using var engine = new SyntheticEngine(pattern: pattern);
        // Not shown: the reasons -f left out.
        Assert.DoesNotContain(engine.Counters.Fields.Take(engine.Counters.Shown), f => f.Name is "kvm_userspace_exit(OTHER)" or "kvm_userspace_exit(HLT)");
        BpfProgram program = engine.Program("kvm_userspace_exit");
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "some");
        foreach ((uint reason, int count) in new[] { (2u, 4), (6u, 3), (5u, 1), (4000u, 2) })
            Assert.Equal(1, vm.Run(program, UserspaceExit(reason), count));
        engine.Counters.Capture();
        long[] row = engine.Counters.Vms[vm.Pid].Totals;
        Assert.Equal(10, engine.Field(row, "kvm_userspace_exit"));
        Assert.Equal(4, engine.Field(row, "kvm_userspace_exit(IO)"));
        Assert.Equal(10, engine.Field(engine.Counters.Totals, "kvm_userspace_exit"));
    }

    /// <summary>
    /// A process that runs no VM is counted outside VMs and loses its slot at the capture that finds
    /// it; its later events take a new slot (never slot 0: no CPU's cache still points at the old
    /// one), and once it holds a VM they are its own.
    /// </summary>
    [Fact]
    public void AProcessWithoutAVmIsOutsideUntilItHoldsOne()
    {
        using var engine = new SyntheticEngine();
        using EventProcess process = EventProcess.Start();
        engine.MakeOther(process.Pid);
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, process.Run(pio, s_pio, count: 4, cpu: 0));
        engine.Counters.Capture();
        Assert.False(engine.Counters.Vms.ContainsKey(process.Pid));
        Assert.Equal(4, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.SlotsInUse);

        // The same CPU, whose cache held it: a new slot, counted outside again.
        Assert.Equal(1, process.Run(pio, s_pio, count: 2, cpu: 0));
        engine.Counters.Capture();
        Assert.Equal(6, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));

        engine.Fixture.AddDescriptor(process.Pid, 10, "anon_inode:kvm-vm");
        engine.Counters.Capture();
        Assert.Equal(1, process.Run(pio, s_pio, count: 5, cpu: 0));
        engine.Counters.Capture();
        Assert.Equal(5, engine.Field(engine.Counters.Vms[process.Pid].Totals, "kvm_pio"));
        Assert.Equal(6, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
        Assert.Equal(11, engine.Field(engine.Counters.Totals, "kvm_pio"));
        Assert.All(engine.Counters.Unattributed, v => Assert.Equal(0, v));
    }

    /// <summary>
    /// A VM made while a capture reads the table's rows (not yet in debugfs as the capture began,
    /// there before its VMs are listed): a VM, every event its own, none outside VMs. A process that
    /// made no VM stays outside, as the same listing says.
    /// </summary>
    [Fact]
    public void AVmMadeWhileACaptureReadsTheRowsIsAVm()
    {
        using var engine = new SyntheticEngine();
        using EventProcess vm = EventProcess.Start(), other = EventProcess.Start();
        engine.MakeVm(vm.Pid, "late");
        engine.MakeOther(other.Pid);
        engine.Fixture.AddDebugfsStat("1-10/pages_4k", 0, writable: false);
        BpfProgram pio = engine.Program("kvm_pio");
        Assert.Equal(1, vm.Run(pio, s_pio, count: 4, cpu: 0));
        Assert.Equal(1, other.Run(pio, s_pio, count: 3, cpu: 1));
        engine.Counters.RowsRead = () => engine.Fixture.AddDebugfsStat($"{vm.Pid}-10/pages_4k", 0, writable: false);
        engine.Counters.Capture();
        Assert.Equal(4, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
        Assert.False(engine.Counters.Vms.ContainsKey(other.Pid));
        Assert.Equal(3, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
    }

    /// <summary>
    /// Where debugfs lists the host's VMs, every process outside VMs is looked at again at each
    /// capture (a search of that listing, no look at its descriptors): 300 of them that make VMs
    /// are VMs from the next capture on, each counting its own events (256 a capture were looked
    /// at, so 44 went on counting outside VMs for another capture).
    /// </summary>
    [Fact]
    public void EveryProcessOutsideVmsThatMakesAVmIsOneFromTheNextCapture()
    {
        const int Count = 300;
        using var engine = new SyntheticEngine();
        using EventProcess parent = EventProcess.Start();
        engine.Fixture.AddDebugfsStat("1-10/pages_4k", 0, writable: false);
        BpfProgram pio = engine.Program("kvm_pio");
        int[] pids = parent.ForkChildren(pio, s_pio, Count);
        try
        {
            foreach (int pid in pids)
                engine.MakeOther(pid);
            Assert.Equal(0, parent.KickChildren());
            engine.Counters.Capture();
            engine.Counters.Capture();
            long outside = engine.Field(engine.Counters.OutsideVms, "kvm_pio");
            Assert.Equal(Enumerable.Range(0, Count).Sum(i => i % 10 + 1), outside);
            Assert.Equal(0, engine.Counters.SlotsInUse);

            foreach (int pid in pids)
            {
                engine.MakeVm(pid, $"vm{pid}");
                engine.Fixture.AddDebugfsStat($"{pid}-10/pages_4k", 0, writable: false);
            }
            engine.Counters.Capture();
            Assert.Equal(0, parent.KickChildren());
            engine.Counters.Capture();
            Assert.Equal([.. pids.Select((pid, i) => (pid, (long)(i % 10 + 1)))],
                pids.Select(pid => (pid, engine.Counters.Vms.TryGetValue(pid, out BpfProcess? vm) ? engine.Field(vm.Totals, "kvm_pio") : 0)));
            Assert.Equal(outside, engine.Field(engine.Counters.OutsideVms, "kvm_pio"));
        }
        finally
        {
            parent.ReleaseChildren();
        }
    }

    /// <summary>
    /// A VM's pid used again by a new VM before any capture: the exit program took the first one's
    /// slot when its main thread exited, so the second starts from zero and the first's count as a VM
    /// that exited. Then a VM that exits after a capture saw it.
    /// </summary>
    [Fact]
    public void APidUsedAgainNeverInheritsTheCountsOfTheVmBefore()
    {
        using var engine = new SyntheticEngine();
        BpfProgram pio = engine.Program("kvm_pio");
        int pid;
        using (EventProcess first = EventProcess.Start())
        {
            pid = first.Pid;
            engine.MakeVm(pid, "first");
            Assert.Equal(1, first.Run(pio, s_pio, count: 5, cpu: 0));
            Assert.Equal(0, first.Run(engine.ExitProgram));
            first.Exit();
        }
        using EventProcess second = EventProcess.StartWithPid(pid);
        Assert.Equal(1, second.Run(pio, s_pio, count: 3, cpu: 0));
        engine.Counters.Capture();
        Assert.Equal(3, engine.Field(engine.Counters.Vms[pid].Totals, "kvm_pio"));
        Assert.Equal(5, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));

        Assert.Equal(0, second.Run(engine.ExitProgram));
        engine.Counters.Capture();
        Assert.False(engine.Counters.Vms.ContainsKey(pid));
        Assert.Equal(8, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));
        engine.Counters.Capture();
        Assert.Equal(8, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));
        Assert.Equal(0, engine.Counters.SlotsInUse);
        Assert.Equal(8, engine.Field(engine.Counters.Totals, "kvm_pio"));
    }

    /// <summary>
    /// A VM killed while its vCPUs run: its main thread exits first (the exit program takes its slot),
    /// then a vCPU thread's last event takes a new row that no exit program will mark. Once the
    /// process is gone, that row is a VM that exited too: never a running VM, its slot given back.
    /// </summary>
    [Fact]
    public void AVcpuThreadsLastEventAfterItsMainThreadExitedIsAnExitedVm()
    {
        using var engine = new SyntheticEngine();
        BpfProgram pio = engine.Program("kvm_pio");
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "killed");
        Assert.Equal(1, vm.Run(pio, s_pio, count: 5));
        Assert.Equal(0, vm.Run(engine.ExitProgram));
        engine.Counters.Capture();
        Assert.Equal(1, vm.RunInThread(pio, s_pio, count: 2).Result);
        vm.Exit();
        engine.Fixture.RemoveProcess(vm.Pid);
        engine.Counters.Capture();
        Assert.False(engine.Counters.Vms.ContainsKey(vm.Pid));
        Assert.Equal(7, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.SlotsInUse);
        Assert.Equal(7, engine.Field(engine.Counters.Totals, "kvm_pio"));

        // Its pid used again: the new process has a slot of its own, seen at once, and its exit
        // gives that slot back once (a slot given back twice would be shared, or fill the queue).
        using EventProcess again = EventProcess.StartWithPid(vm.Pid);
        engine.MakeVm(again.Pid, "again");
        Assert.Equal(1, again.Run(pio, s_pio, count: 3));
        engine.Counters.Capture();
        Assert.Equal(3, engine.Field(engine.Counters.Vms[again.Pid].Totals, "kvm_pio"));
        Assert.Equal(0, again.Run(engine.ExitProgram));
        engine.Counters.Capture();
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.SlotsInUse);
        Assert.Equal(10, engine.Field(engine.Counters.Totals, "kvm_pio"));
    }

    /// <summary>
    /// The exporter follows VMs every second between scrapes: the engine gives back the slots of
    /// VMs that exited meanwhile, so short-lived VMs, one after another, never fill the table
    /// however rarely it is scraped; their counts wait for the next scrape.
    /// </summary>
    [Fact]
    public void FollowingBetweenSamplesGivesBackTheSlotsOfExitedVms()
    {
        using var engine = new SyntheticEngine(capacity: 2);
        BpfProgram pio = engine.Program("kvm_pio");
        using KvmStat.Stats.Sampler sampler = Samplers.Of(TimeProvider.System, [engine.Engine.OpenHost(0)], engine.Engine.OpenPerVm(), capture: engine.Counters);
        sampler.Sample();
        Assert.True(sampler.FollowsVms);
        for (int i = 0; i < 6; i++)
        {
            using EventProcess vm = EventProcess.Start();
            engine.MakeVm(vm.Pid, $"short{i}");
            Assert.Equal(1, vm.Run(pio, s_pio, count: 3));
            Assert.Equal(0, vm.Run(engine.ExitProgram));
            sampler.Follow();
        }
        sampler.Sample();
        Assert.Equal(0, engine.Field(engine.Counters.Unattributed, "kvm_pio"));
        Assert.Equal(18, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));
        Assert.Equal(18, engine.Field(engine.Counters.Totals, "kvm_pio"));
    }

    /// <summary>
    /// A VM killed while a vCPU thread still runs: its main thread is a zombie that waits for that
    /// thread, whose events take a new row. That row is a VM that exited, not a running guest for good.
    /// </summary>
    [Fact]
    public void AVmWhoseMainThreadIsAZombieIsAnExitedVm()
    {
        using var engine = new SyntheticEngine(capacity: 2);
        BpfProgram pio = engine.Program("kvm_pio");
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "zombie");
        Assert.Equal(1, vm.Run(pio, s_pio, count: 5));
        Assert.Equal(0, vm.Run(engine.ExitProgram));
        Assert.Equal(1, vm.RunInThread(pio, s_pio, count: 2).Result);
        engine.Fixture.MarkZombie(vm.Pid);
        engine.Counters.Capture();
        Assert.False(engine.Counters.Vms.ContainsKey(vm.Pid));
        Assert.Equal(7, engine.Field(engine.Counters.ExitedVms, "kvm_pio"));
        engine.Counters.Capture();
        Assert.Equal(0, engine.Counters.SlotsInUse);
        // Both slots are free again, once each: two new processes get one each.
        using EventProcess a = EventProcess.Start(), b = EventProcess.Start();
        engine.MakeVm(a.Pid, "a");
        engine.MakeVm(b.Pid, "b");
        Assert.Equal(1, a.Run(pio, s_pio));
        Assert.Equal(1, b.Run(pio, s_pio, count: 2));
        engine.Counters.Capture();
        Assert.Equal((1, 2), (engine.Field(engine.Counters.Vms[a.Pid].Totals, "kvm_pio"), engine.Field(engine.Counters.Vms[b.Pid].Totals, "kvm_pio")));
        Assert.Equal(0, engine.Field(engine.Counters.Unattributed, "kvm_pio"));
    }

    /// <summary>The exit program frees a slot only when a process's main thread exits, not another thread.</summary>
    [Fact]
    public void AnotherThreadExitingLeavesItsProcessItsSlot()
    {
        using var engine = new SyntheticEngine();
        using EventProcess vm = EventProcess.Start();
        engine.MakeVm(vm.Pid, "threads");
        Assert.Equal(1, vm.Run(engine.Program("kvm_pio"), s_pio, count: 2));
        Assert.Equal(0, vm.RunInThread(engine.ExitProgram, new byte[8]).Result);
        engine.Counters.Capture();
        Assert.Equal(2, engine.Field(engine.Counters.Vms[vm.Pid].Totals, "kvm_pio"));
    }

    /// <summary>
    /// What the layout says each map costs is what the kernel charges for it (fdinfo's memlock,
    /// within 5 % or 1 KiB for the struct sizes of other kernels), in each scope and size, with and
    /// without vCPU threads (their rows, with slots for their exits' reasons).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MapMemoryIsWhatTheLayoutSays(bool vcpus)
    {
        foreach (BpfScope scope in new[] { BpfScope.EveryProcess, BpfScope.Host })
        {
            foreach (int capacity in new[] { 1, 200, 4000 })
            {
                using var engine = new SyntheticEngine(capacity: capacity, scope: scope, vcpus: vcpus);
                // Per process, a vCPU thread's row has slots for its exits' reasons too.
                Assert.Equal(vcpus && scope.PerProcess, engine.Counters.Layout.ThreadReasons > 0);
                BpfTableLayout layout = engine.Counters.Layout;
                long total = 0;
                foreach (BpfMap map in engine.Counters.Maps)
                {
                    long charged = map.ChargedBytes();
                    Assert.SkipWhen(charged < 0, "this kernel does not report a map's memory in fdinfo");
                    long expected = layout.BytesOf(map.Name, map.MaxEntries);
                    Assert.True(Math.Abs(charged - expected) <= Math.Max(1024, charged / 20),
                        $"{scope} capacity {capacity}: map {map.Name} charged {charged}, the layout says {expected}");
                    total += charged;
                }
                long modelled = layout.MapBytes(engine.Counters.Maps.Where(m => m.Name == CounterProgram.Reasons).Select(m => m.MaxEntries));
                Assert.True(Math.Abs(total - modelled) <= Math.Max(4096, total / 20), $"{scope} capacity {capacity}: charged {total}, modelled {modelled}");
                if (!scope.PerProcess)
                    break;
            }
        }
    }

    /// <summary>
    /// Every program the engine can emit goes through the kernel's verifier: raw tracepoints, and
    /// the record-reading ones for each exit-reason encoding (VMX, SVM with its 0xffffffff reason
    /// beyond the reason array, arm64's esr_ec), in every scope, with and without children, and
    /// with exit latencies ended by either entry, with and without vCPU threads.
    /// </summary>
    [Theory]
    [InlineData("Vmx")]
    [InlineData("Svm")]
    [InlineData("AArch64")]
    public void EveryProgramVariantPassesTheVerifier(string encoding)
    {
        var formats = new Dictionary<string, string>
        {
            ["kvm_exit"] = encoding == "AArch64" ? Arm64KvmExit : FixtureRoot.TestData("kvm_exit.format"),
            ["kvm_userspace_exit"] = FixtureRoot.TestData("kvm_userspace_exit.format"),
            ["kvm_pio"] = FixtureRoot.TestData("kvm_pio.format"),
        };
        foreach (BpfScope scope in new[] { BpfScope.EveryProcess, BpfScope.Host, BpfScope.OneProcess(4242) })
        {
            foreach (string pattern in new[] { "", @"[^(]*$" })
            {
                using var engine = new SyntheticEngine(Enum.Parse<ExitReasonSet>(encoding), scope: scope, formats: formats, pattern: pattern);
                Assert.Equal(3, engine.Counters.Fields.Count(f => !f.IsChild));
                Assert.Equal(pattern == "", engine.Counters.Fields.Any(f => f.Parent == "kvm_exit"));
                BpfProgram exit = engine.Counters.Programs.Single(p => p.Name == "kvm_exit");
                Assert.Equal(pattern == "" ? Interop.Abi.BPF_PROG_TYPE_TRACEPOINT : Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, exit.Type);
                Assert.Equal(scope.PerProcess, engine.Counters.Programs.Any(p => p.Name == BpfPrograms.ExitTracepoint));
            }
            foreach (string entry in new[] { BpfPrograms.KvmEntry, BpfPrograms.SyscallEntry })
            {
                foreach (bool vcpus in new[] { false, true })
                {
                    using var engine = new SyntheticEngine(Enum.Parse<ExitReasonSet>(encoding), scope: scope, formats: formats, latencyEntry: entry, vcpus: vcpus);
                    // Every thread's exit takes its stamp, whatever the scope.
                    Assert.Contains(engine.Counters.Programs, p => p.Name == BpfPrograms.ExitTracepoint);
                    Assert.Contains(engine.Counters.Programs, p => p.Name == entry);
                    Assert.True(engine.Counters.Layout.Latency);
                }
            }
        }
    }

    /// <summary>
    /// Classic tracepoint programs cannot be run by the kernel's test runner: they are loaded and
    /// attached to this kernel's own kvm_exit (the tracepoints exist without KVM), with children
    /// for the VMX encoding, whose reason this kernel's record keeps where the format file says.
    /// </summary>
    [Fact]
    public void ClassicProgramsAttachToThisKernelsTracepoints()
    {
        var host = new KvmStat.Host.HostPaths();
        Tracefs tracefs = Tracefs.Locate(host);
        List<TracepointField> fields = KvmStat.Stats.FieldFilter.Create("kvm_(exit|userspace_exit)").Select(
            TracepointCatalog.Discover(tracefs, ExitReasonSet.Vmx), f => f.Name, f => f.Parent);
        Assert.Contains(fields, f => f.Parent == "kvm_exit");
        using var descriptors = new KvmStat.Sources.CounterDescriptors();
        int before = BpfCollection.OpenBpfObjects();
        using (var counters = new BpfCounters(tracefs, fields, host, descriptors, verbose: null, warn: _ => { }))
        {
            Assert.Equal(Interop.Abi.BPF_PROG_TYPE_TRACEPOINT, counters.Programs.Single(p => p.Name == "kvm_exit").Type);
            Assert.Equal(Interop.Abi.BPF_PROG_TYPE_RAW_TRACEPOINT, counters.Programs.Single(p => p.Name == "kvm_userspace_exit").Type);
            // kvm_exit's perf event (the classic program's attachment) is a perf descriptor of the run.
            Assert.Equal(1, descriptors.OpenCount);
            Assert.True(BpfCollection.OpenBpfObjects() > before);
        }
        Assert.Equal(before, BpfCollection.OpenBpfObjects());
    }

    /// <summary>The lighter programs: one row per CPU for the host's totals (summed exactly), or only one process's events.</summary>
    [Fact]
    public void HostAndOneProcessScopesCountExactly()
    {
        using EventProcess a = EventProcess.Start(), b = EventProcess.Start();
        using var host = new SyntheticEngine(scope: BpfScope.Host);
        using var one = new SyntheticEngine(scope: BpfScope.OneProcess(a.Pid));
        foreach (SyntheticEngine engine in new[] { host, one })
        {
            BpfProgram pio = engine.Program("kvm_pio");
            for (int cpu = 0; cpu < Cpus; cpu++)
            {
                Assert.Equal(1, a.Run(pio, s_pio, count: 10 + cpu, cpu: cpu));
                Assert.Equal(1, b.RunInThread(pio, s_pio, count: 100, cpu: cpu).Result);
            }
            Assert.Equal(1, a.Run(engine.Program("kvm_userspace_exit"), UserspaceExit(2), count: 3));
            engine.Counters.Capture();
        }
        int expected = Enumerable.Range(0, Cpus).Sum(cpu => 10 + cpu);
        Assert.Equal(expected + 100 * Cpus, host.Field(host.Counters.Totals, "kvm_pio"));
        Assert.Equal(expected, one.Field(one.Counters.Totals, "kvm_pio"));
        Assert.Equal(3, one.Field(one.Counters.Totals, "kvm_userspace_exit(IO)"));
        Assert.Empty(host.Counters.Vms);
        Assert.Equal(0, host.Counters.Capacity);
    }
}
