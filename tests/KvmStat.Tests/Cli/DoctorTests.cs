using KvmStat.Sources;
using KvmStat.Sources.Bpf;
using KvmStat.Cli;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>--doctor on fixture hosts: what it finds and says, and its exit status.</summary>
public class DoctorTests
{
    private static (int Code, string[] Lines) Run(FixtureRoot fixture, DoctorRequest? request = null)
    {
        var output = new StringWriter();
        int code = new Doctor(fixture.Paths, output, TimeProvider.System, request ?? DoctorRequest.Host).Run(TimeSpan.Zero);
        return (code, output.ToString().TrimEnd('\n').Split('\n'));
    }

    private static string Line(string[] lines, string check) =>
        Assert.Single(lines, l => l.Length > 6 && l[6..].StartsWith(check + " ", StringComparison.Ordinal));

    [Fact]
    public void AHostWithoutTracefsOrKvmFailsAndSaysHowToFixIt()
    {
        using var fixture = new FixtureRoot();
        fixture.RemoveKvm();
        (int code, string[] lines) = Run(fixture);
        Assert.Equal(1, code);
        Assert.StartsWith("fail  KVM                   the KVM module is not loaded (no /sys/module/kvm, no /dev/kvm); modules: none. Load it as root: modprobe kvm_intel", Line(lines, "KVM"));
        Assert.Contains("mount -t tracefs", Line(lines, "tracefs"));
        Assert.StartsWith("fail  debugfs               not mounted (no ", Line(lines, "debugfs"));
        Assert.EndsWith("mount -t debugfs none /sys/kernel/debug (as root)", Line(lines, "debugfs"));
        Assert.StartsWith("warn  VMs                   none running", Line(lines, "VMs"));
    }

    /// <summary>Without tracefs, as a run finds it: debugfs is counted instead, and only the statistics -d reads are counted as readable.</summary>
    [Fact]
    public void WithoutTracefsTheDoctorSaysARunCountsDebugfs()
    {
        using var fixture = new FixtureRoot();
        fixture.AddDebugfsStat("exits", 1);
        fixture.AddDebugfsStat("halt_exits", 1);
        fixture.AddDebugfsStat("halt_wait_ns", 1);
        (_, string[] lines) = Run(fixture);
        Assert.EndsWith("A run without -t counts KVM's debugfs statistics instead (as -d).", Line(lines, "tracefs"));
        Assert.EndsWith(": 2 statistics readable", Line(lines, "debugfs"));
    }

    /// <summary>A dense host's VMs are counted, and the first of them described: thousands of lines would bury the checks.</summary>
    [Fact]
    public void ADenseHostsVmsAreCountedAndTheFirstDescribed()
    {
        using var fixture = new FixtureRoot();
        for (int pid = 3000; pid < 3000 + Doctor.MaxListedVms + 5; pid++)
        {
            fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"]);
            fixture.AddDescriptor(pid, 12, "anon_inode:kvm-vm");
        }
        (_, string[] lines) = Run(fixture);
        Assert.Equal($"ok    VMs                   {Doctor.MaxListedVms + 5} running", Line(lines, "VMs"));
        Assert.Equal(Doctor.MaxListedVms, lines.Count(l => l.TrimStart().StartsWith("pid 3", StringComparison.Ordinal)));
        Assert.Equal("        ...                 5 more, not listed (kvm_stat --doctor -p PID checks one)", Assert.Single(lines, l => l.Contains("more, not listed", StringComparison.Ordinal)));
    }

    /// <summary>A VM on a host without debugfs: its line says so, and the check goes on.</summary>
    [Fact]
    public void AVmOnAHostWithoutDebugfsHasNoDebugfsFolder()
    {
        using var fixture = new FixtureRoot();
        fixture.AddProcess(1234, ["qemu-system-x86_64", "-name", "web"]);
        fixture.AddDescriptor(1234, 12, "anon_inode:kvm-vm");
        (int code, string[] lines) = Run(fixture);
        Assert.Equal(1, code);
        Assert.Equal("ok    VMs                   1 running", Line(lines, "VMs"));
        Assert.Contains("(web) no tracepoints (see tracefs); ", Assert.Single(lines, l => l.Contains("pid 1234")));
        Assert.Contains("; no debugfs folder; ", Assert.Single(lines, l => l.Contains("pid 1234")));
    }

    [Fact]
    public void AHostWithTracepointsDebugfsAndAVm()
    {
        using var fixture = new FixtureRoot();
        fixture.WriteFile("/dev/kvm", "");
        Directory.CreateDirectory(fixture.Paths.Map("/sys/module/kvm_intel"));
        fixture.AddTracepoint("kvm_exit", 1, FixtureRoot.TestData("kvm_exit.format"));
        fixture.AddTracepoint("kvm_userspace_exit", 2, FixtureRoot.TestData("kvm_userspace_exit.format"));
        fixture.AddDebugfsStat("exits", 0);
        fixture.AddDebugfsStat("1234-11/exits", 5);
        fixture.AddProcess(1234, ["qemu-system-x86_64", "-name", "web\u001b[2J"]);
        fixture.AddDescriptor(1234, 11, "anon_inode:kvm-vm");
        fixture.AddThread(1234, 1236, "CPU 1/KVM");
        fixture.AddThread(1234, 1235, "CPU 0/KVM");
        (int code, string[] lines) = Run(fixture);
        Assert.Equal("ok    KVM                   /dev/kvm present; modules: kvm, kvm_intel", Line(lines, "KVM"));
        Assert.Equal("ok    exit reasons          VMX (Intel): kvm_exit's children are VMX exit reasons", Line(lines, "exit reasons"));
        Assert.Equal($"ok    tracefs               {fixture.Paths.Map("/sys/kernel/tracing")}: 2 kvm tracepoints; exit-reason names from the kernel's format files", Line(lines, "tracefs"));
        Assert.StartsWith("ok    debugfs", Line(lines, "debugfs"));
        Assert.Contains("1 statistics readable", Line(lines, "debugfs"));
        // What a run with perf counters opens: a counter per field on each CPU, the exit reasons'
        // children (kvm_exit's VMX ones, kvm_userspace_exit's) among them, as the run counts them.
        Assert.Contains("system-wide counting of 110 fields on 2 CPUs needs 252 ", Line(lines, "open files"));
        Assert.Equal("ok    VMs                   1 running", Line(lines, "VMs"));
        string vm = Assert.Single(lines, l => l.Contains("pid 1234"));
        // The engine is this host's (BPF programs attach to the kernel's tracepoints, whatever the fixture).
        bool bpf = Line(lines, "engine").StartsWith("ok    engine                BPF", StringComparison.Ordinal);
        string reach = bpf ? "per process, BPF" : "per thread";
        if (bpf)
        {
            Assert.StartsWith("ok    BPF table             room for 8192 processes; ", Line(lines, "BPF table"));
            // The table a per-VM run makes: every field, exit reasons included.
            int fields = KvmStat.Sources.Tracepoints.TracepointCatalog.Discover(KvmStat.Sources.Tracepoints.Tracefs.Locate(fixture.Paths),
                KvmStat.Sources.Tracepoints.ExitReasonSet.Vmx).Count;
            Assert.True(fields > 2);
            Assert.Contains($"(2 tracepoints, {fields} fields; ", Line(lines, "engine"));
        }
        Assert.Contains($@"(web\e[2J) tracepoints ({reach}); debugfs folder; no held stats descriptors; vCPU 0, 1 known by their threads (--vcpus); no QMP socket it listens on named on its command line", vm);
        Assert.Equal(0, code);
    }

    /// <summary>
    /// What --doctor says --latency times is what the tool chooses (<see cref="TracepointEngines.LatencyEntry"/>),
    /// and where kvm_entry's firing contradicts that choice it says so.
    /// </summary>
    [Theory]
    [InlineData(true, 5, true, "ok    exit latency          --latency times exits handled in the kernel and in user space, each until the vCPU's next VM entry (kvm_entry)")]
    [InlineData(true, 0, false, "ok    exit latency          --latency times exits handled in the kernel and in user space, each until the vCPU's next VM entry (kvm_entry)")]
    [InlineData(true, 0, true, "warn  exit latency          --latency ends exits at kvm_entry (VMX, SVM or arm64 found), but kvm_entry never fired although VMs ran: it would time no exit here")]
    [InlineData(false, 0, true, "warn  exit latency          kvm_entry never fired although VMs ran: --latency times only exits to user space, until the vCPU's next ioctl(KVM_RUN), seen by a short program on every system call of the host")]
    [InlineData(false, 0, false, "warn  exit latency          kvm_entry is not expected to fire (neither VMX, SVM nor arm64): --latency times only exits to user space, until the vCPU's next ioctl(KVM_RUN), seen by a short program on every system call of the host")]
    [InlineData(false, 3, true, "warn  exit latency          kvm_entry fired, but neither VMX, SVM nor arm64 was found to read exit reasons by: --latency times only exits to user space, until the vCPU's next ioctl(KVM_RUN), seen by a short program on every system call of the host")]
    public void TheLatencyLineSaysWhatTheToolChooses(bool vmx, long entries, bool activity, string expected)
    {
        using var fixture = new FixtureRoot();
        if (vmx)
            Directory.CreateDirectory(fixture.Paths.Map("/sys/module/kvm_intel"));
        var output = new StringWriter();
        new Doctor(fixture.Paths, output, TimeProvider.System, DoctorRequest.Host).CheckLatency(entries, activity, bpf: true);
        Assert.Equal(expected, output.ToString().TrimEnd('\n'));
        output.GetStringBuilder().Clear();
        new Doctor(fixture.Paths, output, TimeProvider.System, DoctorRequest.Host).CheckLatency(entries, activity, bpf: false);
        Assert.Equal("warn  exit latency          --latency times nothing here: BPF is not available (see engine), and perf counters cannot time exits",
            output.ToString().TrimEnd('\n'));
        output.GetStringBuilder().Clear();
        new Doctor(fixture.Paths, output, TimeProvider.System, DoctorRequest.Host with { Engine = TracepointEngineChoice.Perf }).CheckLatency(entries, activity, bpf: true);
        Assert.Equal("warn  exit latency          --latency times nothing with --engine perf: exit latencies are timed by the BPF engine only",
            output.ToString().TrimEnd('\n'));
        // Asked for with --latency, it is what stops a run.
        output.GetStringBuilder().Clear();
        new Doctor(fixture.Paths, output, TimeProvider.System, DoctorRequest.Host with { Engine = TracepointEngineChoice.Perf, Latency = true }).CheckLatency(entries, activity, bpf: true);
        Assert.Equal("fail  exit latency          --latency times nothing with --engine perf: exit latencies are timed by the BPF engine only. Leave out --engine perf.",
            output.ToString().TrimEnd('\n'));
        Assert.Equal(vmx ? KvmStat.Sources.Bpf.BpfPrograms.KvmEntry : KvmStat.Sources.Bpf.BpfPrograms.SyscallEntry, TracepointEngines.LatencyEntry(fixture.Paths));
    }

    /// <summary>
    /// KVM in the kernel but no /dev/kvm (this kernel is itself a guest, or the CPU offers no
    /// virtualization): said with the kernel's own reason from its log, and debugfs, mounted, is
    /// not told to be mounted again.
    /// </summary>
    [Fact]
    public void KvmThatCannotBeUsedHereIsToldFromAnUnmountedDebugfs()
    {
        using var fixture = new FixtureRoot();
        File.Delete(fixture.Paths.DevKvm);
        fixture.WriteFile("/dev/kmsg", """
            6,13,0,-;kvm-clock: Using msrs 4b564d01 and 4b564d00
            6,255,273444,-;kvm-pvm: this kernel is itself a kvm-pvm guest; not binding
            6,256,273500,-;random: crng init done

            """);
        Directory.CreateDirectory(fixture.Paths.Map("/sys/kernel/debug/tracing"));
        (int code, string[] lines) = Run(fixture);
        Assert.Equal(1, code);
        Assert.StartsWith(
            "fail  KVM                   KVM is built in but not usable here (no /dev/kvm); the kernel said: \"kvm-pvm: this kernel is itself a kvm-pvm guest; not binding\"; modules: kvm. No VM can run",
            Line(lines, "KVM"));
        Assert.StartsWith("fail  debugfs               mounted, but no " + fixture.Paths.DebugfsKvm + ": KVM makes that folder, and KVM is built in but not usable here", Line(lines, "debugfs"));
        Assert.DoesNotContain("mount -t debugfs", Line(lines, "debugfs"));

        // The firmware's reason on another host, and a host that never logged one.
        fixture.WriteFile("/dev/kmsg", "4,90,1000,-;kvm: disabled by bios\n");
        Assert.Contains("the kernel said: \"kvm: disabled by bios\"", Line(Run(fixture).Lines, "KVM"));
        File.Delete(fixture.Paths.KernelLog);
        Assert.StartsWith("fail  KVM                   KVM is built in but not usable here (no /dev/kvm); modules: kvm.", Line(Run(fixture).Lines, "KVM"));

        // A sandbox's /dev (systemd's PrivateDevices) on a host whose kernel made the device: VMs run.
        Directory.CreateDirectory(fixture.Paths.Map("/sys/class/misc/kvm"));
        Assert.StartsWith("ok    KVM                   the kernel's KVM device exists (/sys/class/misc/kvm), though this process's /dev does not show it (a sandbox)",
            Line(Run(fixture).Lines, "KVM"));
    }

    /// <summary>With perf counters, --doctor says how many running VMs per-VM views can count within the hard limit, as a run would leave the others out.</summary>
    [Fact]
    public void PerfCountersSayHowManyVmsFitTheOpenFileLimit()
    {
        using var fixture = new FixtureRoot();
        foreach (int pid in new[] { 2001, 2002, 2003 })
        {
            fixture.AddProcess(pid, ["qemu-system-x86_64"], threads: [pid, pid + 100]);
            fixture.MarkRunning(pid);
            fixture.AddDescriptor(pid, 10, "anon_inode:kvm-vm");
        }
        string Check(ulong hardLimit)
        {
            var output = new StringWriter();
            new Doctor(fixture.Paths, output, TimeProvider.System, DoctorRequest.Host).CheckPerVmFiles(fields: 100, hostNeeds: 232, hardLimit);
            return output.ToString().TrimEnd('\n');
        }
        Assert.Equal("ok    per-VM files          perf counters for 3 VMs (6 threads x 100 tracepoints) and the host's need 832: within the hard limit", Check(832));
        Assert.Equal("warn  per-VM files          perf counters for 3 VMs (6 threads x 100 tracepoints) and the host's need 832, over the hard limit 831: " +
            "per-VM views count 2 of them and leave out 1 (vms_left_out). Raise the open-file limit (LimitNOFILE), or let the BPF engine count.", Check(831));
    }
    private static FixtureRoot TwoVms()
    {
        var fixture = new FixtureRoot();
        foreach ((int pid, string name) in new[] { (2001, "web"), (2002, "db") })
        {
            fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", name]);
            fixture.MarkRunning(pid);
            fixture.AddDescriptor(pid, 10, "anon_inode:kvm-vm");
        }
        fixture.AddProcess(2003, ["sleep", "100"], comm: "sleep");
        fixture.MarkRunning(2003, "sleep");
        return fixture;
    }

    /// <summary>With -p or -g the VM checks look at the VM a run would watch, found as a run finds it.</summary>
    [Theory]
    [InlineData(2002, null, "pid 2002 (db)")]
    [InlineData(0, "web", "pid 2001 (web)")]
    public void WithPOrGTheVmChecksLookAtTheWatchedVmAlone(int pid, string? guest, string watched)
    {
        using FixtureRoot fixture = TwoVms();
        (_, string[] lines) = Run(fixture, DoctorRequest.Host with { Pid = pid, Guest = guest });
        Assert.Equal($"ok    watched VM            {watched}: the checks of VMs look at it alone", Line(lines, "watched VM"));
        string vm = Assert.Single(lines, l => l.StartsWith("        pid 20", StringComparison.Ordinal));
        Assert.StartsWith($"        {watched[..8]} ", vm);
        Assert.DoesNotContain(lines, l => l[6..].StartsWith("VMs ", StringComparison.Ordinal));
    }

    /// <summary>A pid of which it cannot be told whether it runs a VM: --doctor warns as a run does.</summary>
    [Fact]
    public void AWatchedPidThatCannotBeCheckedIsAWarning()
    {
        using FixtureRoot fixture = TwoVms();
        Directory.Delete(fixture.Paths.Map("/proc/2003/fd"));
        (_, string[] lines) = Run(fixture, DoctorRequest.Host with { Pid = 2003 });
        Assert.Equal("warn  watched VM            cannot tell whether process 2003 (sleep) runs a KVM VM (neither debugfs nor its descriptors can be read): " +
            "its events are counted as a VM's. The checks of VMs look at it alone.", Line(lines, "watched VM"));
    }

    /// <summary>Where a run would stop on -p or -g, --doctor fails with the same words, and lists every VM to pick from.</summary>
    [Theory]
    [InlineData(2009, null, "no process with pid 2009 is running. Check the pid of the VM (its QEMU process), e.g. with ps.")]
    [InlineData(2003, null, "process 2003 (sleep) is not running a KVM virtual machine. Give the pid of a VM process, such as a QEMU that runs with KVM.")]
    [InlineData(0, "mail", "no guest by the name \"mail\" found. Names come from QEMU's -name option; kvm_stat -p PID selects a VM by pid.")]
    public void AWatchedVmARunCannotFindFailsAsTheRunWould(int pid, string? guest, string said)
    {
        using FixtureRoot fixture = TwoVms();
        (int code, string[] lines) = Run(fixture, DoctorRequest.Host with { Pid = pid, Guest = guest });
        Assert.Equal(1, code);
        Assert.Equal($"fail  watched VM            {said} Every running VM is listed below.", Line(lines, "watched VM"));
        Assert.Equal("ok    VMs                   2 running", Line(lines, "VMs"));
        string[] vms = [.. lines.Where(l => l.StartsWith("        pid 200", StringComparison.Ordinal))];
        Assert.Equal(2, vms.Length);
        // This fixture has no tracefs: nothing says the VMs are reached by tracepoints.
        Assert.All(vms, l => Assert.Contains("no tracepoints (see tracefs)", l));
    }

    /// <summary>
    /// --engine perf: the engine line and every line that depends on it (per-VM files, --latency)
    /// are about perf counters, as a run with it counts, however well BPF would work here.
    /// </summary>
    [Fact]
    public void EnginePerfIsCheckedAsARunWithItCounts()
    {
        using FixtureRoot fixture = TwoVms();
        fixture.AddTracepoint("kvm_pio", 1, FixtureRoot.TestData("kvm_pio.format"));
        fixture.AddTracepoint("kvm_userspace_exit", 2, FixtureRoot.TestData("kvm_userspace_exit.format"));
        (_, string[] lines) = Run(fixture, DoctorRequest.Host with { Engine = TracepointEngineChoice.Perf });
        Assert.Equal("ok    engine                perf counters (--engine perf): 2 tracepoints, a counter per CPU and tracepoint; per-guest counts need a counter per VM thread and field",
            Line(lines, "engine"));
        Assert.StartsWith("ok    per-VM files          perf counters for 2 VMs", Line(lines, "per-VM files"));
        // Per VM thread a run counts the parent tracepoints only, not each exit reason's child.
        Assert.Contains(" threads x 2 tracepoints)", Line(lines, "per-VM files"));
        Assert.DoesNotContain(lines, l => l.Contains("BPF table", StringComparison.Ordinal));
        string[] vms = [.. lines.Where(l => l.StartsWith("        pid 200", StringComparison.Ordinal))];
        Assert.Equal(2, vms.Length);
        Assert.All(vms, l => Assert.Contains("tracepoints (per thread)", l));
    }

    /// <summary>
    /// The engine's line gives the maps a per-VM run with the same options makes: --latency adds its
    /// stamps and buckets, --vcpus a row per vCPU thread (before Linux 5.11 all of it must fit the
    /// locked-memory limit, so a smaller figure could pass a run that falls back).
    /// </summary>
    [Fact]
    public void TheEnginesMapsAreThoseOfARunWithTheSameOptions()
    {
        using var fixture = new FixtureRoot();
        // The host's tracepoints, which the programs attach to.
        foreach (string name in new[] { "kvm_exit", "kvm_userspace_exit" })
            fixture.AddTracepoint(name, int.Parse(File.ReadAllText($"/sys/kernel/tracing/events/kvm/{name}/id").Trim(), System.Globalization.CultureInfo.InvariantCulture),
                FixtureRoot.TestData(name + ".format"));
        string engine = Line(Run(fixture).Lines, "engine");
        if (!engine.StartsWith("ok    engine                BPF", StringComparison.Ordinal))
            Assert.Skip("BPF cannot count on this host: " + engine);
        double MiB(string line) => double.Parse(System.Text.RegularExpressions.Regex.Match(line, @"; ([0-9.]+) MiB of maps").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        string both = Line(Run(fixture, DoctorRequest.Host with { Latency = true, Vcpus = true }).Lines, "engine");
        Assert.Contains("MiB of maps, as a per-VM run --latency --vcpus)", both);
        Assert.True(MiB(both) > MiB(Line(Run(fixture, DoctorRequest.Host with { Latency = true }).Lines, "engine")));
        Assert.True(MiB(Line(Run(fixture, DoctorRequest.Host with { Latency = true }).Lines, "engine")) > MiB(engine), engine);

        // The fields -f keeps, each with every reason of its tracepoint, as a run counts them; with
        // --latency the tracepoints that stamp exits too (kvm_userspace_exit, here without kvm_entry).
        int Fields(string line) => int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"tracepoints, ([0-9]+) fields;").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int Counted(string? pattern, bool latency = false) =>
            Fields(Line(Run(fixture, DoctorRequest.Host with { Fields = pattern is null ? null : KvmStat.Stats.FieldFilter.Create(pattern), Latency = latency }).Lines, "engine"));
        var catalog = KvmStat.Sources.Tracepoints.TracepointCatalog.Discover(KvmStat.Sources.Tracepoints.Tracefs.Locate(fixture.Paths),
            KvmStat.Sources.Tracepoints.ExitReasonSetDetector.Detect(fixture.Paths));
        int userspace = catalog.Count(f => f.Tracepoint == "kvm_userspace_exit");
        Assert.True(userspace > 1 && userspace < catalog.Count);
        Assert.Equal(catalog.Count, Counted(null));
        Assert.Equal(userspace, Counted("kvm_userspace_exit"));
        Assert.Equal(userspace, Counted(@"kvm_userspace_exit\(IO\)"));
        Assert.Equal(catalog.Count - userspace, Counted("kvm_exit"));
        Assert.Equal(catalog.Count, Counted("kvm_exit", latency: true));
        // -f keeping exit latencies alone: the tracepoints that stamp exits only, as a run counts them.
        Assert.Equal(userspace, Counted("user_exit_p99", latency: true));

        // --vcpus: a thread's row has slots for the reasons of the tracepoints a run shows only; here
        // kvm_userspace_exit's are counted for latencies alone (kvm_exit has no reasons without VMX or SVM).
        string slotless = Line(Run(fixture, DoctorRequest.Host with { Fields = KvmStat.Stats.FieldFilter.Create("kvm_exit"), Latency = true, Vcpus = true }).Lines, "engine");
        BpfTableLayout run = BpfTableLayout.For(catalog.Count, BpfScope.EveryProcess, KvmStat.Host.OnlineCpus.Possible(), latency: true, threadFields: 2);
        Assert.Equal((run.MapBytes() / 1048576.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
            MiB(slotless).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(MiB(Line(Run(fixture, DoctorRequest.Host with { Fields = KvmStat.Stats.FieldFilter.Create("kvm_userspace_exit"), Latency = true, Vcpus = true }).Lines,
            "engine")) > MiB(slotless), slotless);
    }

    /// <summary>Options that do not change the checks are named on the first line, not dropped in silence.</summary>
    [Fact]
    public void OptionsThatDoNotChangeTheChecksAreNamed()
    {
        using var fixture = new FixtureRoot();
        (_, string[] lines) = Run(fixture, DoctorRequest.Host with { Unused = ["-s", "--json"] });
        Assert.Equal("note  options               -s, --json do not change what --doctor checks (every source, every output); it takes --engine, --latency, --vcpus, --web-config-file, -f, --guest-fields, and -p or -g for one VM", lines[0]);
        Assert.DoesNotContain(Run(fixture).Lines, l => l.StartsWith("note", StringComparison.Ordinal));
    }

    /// <summary>
    /// -f is matched as a run matches it: against the tracepoints (and exit latencies with
    /// --latency), and debugfs, which a run reads with -d; a pattern that keeps nothing fails.
    /// </summary>
    [Theory]
    [InlineData("kvm_userspace_exit\\(IO\\)", false, "ok    fields                -f \"kvm_userspace_exit\\(IO\\)\" keeps 2 fields (kvm_userspace_exit, kvm_userspace_exit(IO)) of the tracepoints")]
    [InlineData("kvm_userspace_exit$|pages", false, "ok    fields                -f \"kvm_userspace_exit$|pages\" keeps 1 field (kvm_userspace_exit) of the tracepoints, and 2 fields (pages_1g, pages_4k) of debugfs with -d")]
    [InlineData("pages_4k", false, "warn  fields                -f \"pages_4k\" keeps no tracepoint field, 1 field (pages_4k) of debugfs: a run needs -d (without it, it stops)")]
    [InlineData("user_exit_p99", true, "ok    fields                -f \"user_exit_p99\" keeps 1 field (user_exit_p99_us) of the tracepoints")]
    [InlineData("user_exit_p99", false, "fail  fields                no tracepoint or debugfs field matches \"user_exit_p99\": a run stops. Exit latencies (user_exit_*, kernel_exit_*) are fields only with --latency, counted by the BPF engine; list the fields with: kvm_stat -f help --latency")]
    [InlineData("kernel_exit", true, "fail  fields                no tracepoint or debugfs field matches \"kernel_exit\": a run stops. Exit latencies are fields only where the BPF engine can time exits (kvm_stat --doctor says whether it can), and kernel_exit_* only where kvm_entry fires (VMX, SVM, arm64); list the fields with: kvm_stat -f help --latency")]
    [InlineData("xyz", false, "fail  fields                no tracepoint or debugfs field matches \"xyz\": a run stops. List the available fields with: kvm_stat -f help")]
    [InlineData("(?=k)(\\w|.|[a-z_])*Z|pages", false, "fail  fields                \"(?=k)(\\w|.|[a-z_])*Z|pages\" took over a second to match the field \"kvm_userspace_exit\", so what it selects is unknown. A run stops. " + KvmStat.Stats.FieldFilter.SlowFix)]
    public void FIsMatchedAsARunMatchesIt(string pattern, bool latency, string expected)
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_userspace_exit", 2, FixtureRoot.TestData("kvm_userspace_exit.format"));
        fixture.AddDebugfsStat("pages_4k", 3, writable: false);
        fixture.AddDebugfsStat("pages_1g", 0, writable: false);
        (int code, string[] lines) = Run(fixture, DoctorRequest.Host with { Fields = KvmStat.Stats.FieldFilter.Create(pattern), Latency = latency });
        Assert.Equal(expected, Line(lines, "fields"));
        Assert.Equal(expected.StartsWith("fail", StringComparison.Ordinal), code == 1 && lines.Count(l => l.StartsWith("fail", StringComparison.Ordinal)) == 1);
        Assert.DoesNotContain(Run(fixture).Lines, l => l.Length > 6 && l[6..].StartsWith("fields ", StringComparison.Ordinal));
    }

    /// <summary>
    /// --guest-fields is checked as a run with --serve or --json checks it at start: one that keeps
    /// no event of the guests, or takes a second on a name the run asks of it (with --latency the
    /// reasons of each guest's histograms too, which -f may leave out), fails as the run stops.
    /// </summary>
    [Theory]
    [InlineData("kvm_userspace_exit", null, false, "ok    guest fields          --guest-fields \"kvm_userspace_exit\" gives each guest 1 field (kvm_userspace_exit) with 42 exit reasons")]
    // Its reasons alone: they bring their event (the BPF engine counts each guest's reasons).
    [InlineData("kvm_userspace_exit\\(", null, false, "ok    guest fields          --guest-fields \"kvm_userspace_exit\\(\" gives each guest 1 field (kvm_userspace_exit) with 42 exit reasons")]
    [InlineData("kvm_userspace_exit\\(NOSUCH", null, false, "fail  guest fields          --guest-fields \"kvm_userspace_exit\\(NOSUCH\" matches no event of the guests: a run with --serve or --json stops. List the events with: kvm_stat -f help")]
    [InlineData("kvm_userspace_exit$|(?=kvm_userspace_exit\\()(\\w|.|[a-z_])*Z", "kvm_userspace_exit$", false, "ok    guest fields          --guest-fields \"kvm_userspace_exit$|(?=kvm_userspace_exit\\()(\\w|.|[a-z_])*Z\" gives each guest 1 field (kvm_userspace_exit)")]
    [InlineData("kvm_userspace_exit$|(?=kvm_userspace_exit\\()(\\w|.|[a-z_])*Z", "kvm_userspace_exit$", true, "fail  guest fields          --guest-fields \"kvm_userspace_exit$|(?=kvm_userspace_exit\\()(\\w|.|[a-z_])*Z\" took over a second to match the field \"kvm_userspace_exit(")]
    [InlineData("kvm_userspace_exit\\((IO|MMIO)", null, true, "ok    guest fields          --guest-fields \"kvm_userspace_exit\\((IO|MMIO)\" gives each guest 1 field (kvm_userspace_exit) with 3 exit reasons, and the exit latencies of 3 fields (kvm_userspace_exit(")]
    [InlineData("kvm_userspace_exit\\(NOSUCH", null, true, "fail  guest fields          --guest-fields \"kvm_userspace_exit\\(NOSUCH\" matches no event of the guests and no reason of their exit latencies: a run with --serve or --json stops.")]
    public void GuestFieldsAreCheckedAsARunChecksThem(string pattern, string? fields, bool latency, string expected) =>
        GuestFieldsChecked(pattern, fields, latency, TracepointEngineChoice.Auto, expected);

    /// <summary>With perf counters, which time no exit, reasons alone keep nothing, as a run says.</summary>
    [Fact]
    public void GuestFieldsOfReasonsAloneKeepNothingWherePerfCounts() =>
        GuestFieldsChecked("kvm_userspace_exit\\((IO|MMIO)\\)", null, true, TracepointEngineChoice.Perf,
            "fail  guest fields          --guest-fields \"kvm_userspace_exit\\((IO|MMIO)\\)\" matches no event of the guests, and exit latencies are not measured here: a run with --serve or --json stops.");

    private static void GuestFieldsChecked(string pattern, string? fields, bool latency, TracepointEngineChoice engine, string expected)
    {
        using var fixture = new FixtureRoot();
        fixture.AddTracepoint("kvm_userspace_exit", 2, FixtureRoot.TestData("kvm_userspace_exit.format"));
        fixture.AddDebugfsStat("pages_4k", 3, writable: false);
        (int code, string[] lines) = Run(fixture, DoctorRequest.Host with
        {
            Engine = engine,
            GuestFields = KvmStat.Stats.FieldFilter.Create(pattern),
            Fields = fields is null ? null : KvmStat.Stats.FieldFilter.Create(fields),
            Latency = latency,
        });
        Assert.StartsWith(expected, Line(lines, "guest fields"));
        // (With --engine perf and --latency other lines fail too, as the run stops on them.)
        Assert.Equal(expected.StartsWith("fail", StringComparison.Ordinal),
            code == 1 && (engine == TracepointEngineChoice.Perf || lines.Count(l => l.StartsWith("fail", StringComparison.Ordinal)) == 1));
        Assert.DoesNotContain(Run(fixture).Lines, l => l.Contains("guest fields", StringComparison.Ordinal));
    }

    /// <summary>
    /// --web-config-file is loaded as the exporter loads it at start: a broken one fails as the run
    /// would stop, and what the run warns of it (passwords over plain HTTP) is a warning here too.
    /// </summary>
    [Fact]
    public void AWebConfigFileIsLoadedAsTheExporterLoadsIt()
    {
        using var fixture = new FixtureRoot();
        string good = fixture.Paths.Map("/etc/web.yml"), plain = fixture.Paths.Map("/etc/plain.yml"), broken = fixture.Paths.Map("/etc/broken.yml");
        fixture.WriteFile("/etc/plain.yml", "basic_auth_users:\n  alice: " + BCrypt.Net.BCrypt.HashPassword("secret", 4) + "\n");
        fixture.WriteFile("/etc/web.yml", "http_server_config:\n  http2: false\n");
        fixture.WriteFile("/etc/broken.yml", "basic_auth_user: {}\n");
        (int code, string[] lines) = Run(fixture, DoctorRequest.Host with { WebConfigFile = good });
        Assert.Equal($"ok    web config            {good}: plain HTTP, no authentication", Line(lines, "web config"));
        (code, lines) = Run(fixture, DoctorRequest.Host with { WebConfigFile = plain });
        Assert.Equal($"warn  web config            {plain}: plain HTTP, basic authentication; basic_auth_users without tls_server_config: passwords cross the network unencrypted",
            Line(lines, "web config"));
        (code, lines) = Run(fixture, DoctorRequest.Host with { WebConfigFile = broken });
        Assert.Equal(1, code);
        Assert.StartsWith($"fail  web config            --web-config-file {broken}: ", Line(lines, "web config"));
        Assert.DoesNotContain(Run(fixture).Lines, l => l.Contains("web config", StringComparison.Ordinal));
    }
}
