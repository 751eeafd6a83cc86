using KvmStat.Sources;
using KvmStat.Cli;
using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Bpf;
using KvmStat.Sources.Perf;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>What the factory opens for a sampler, and that a failure on the way closes all of it.</summary>
[Collection(BpfCollection.Name)]
public class SourceFactoryTests
{
    /// <summary>
    /// This host's tracefs and CPU lists, /dev/kvm, and a /proc with no process in it: the BPF engine opens
    /// (real programs on real tracepoints), and no VM keeps binary statistics descriptors.
    /// </summary>
    private sealed class NoVmsRoot : IDisposable
    {
        internal NoVmsRoot()
        {
            Root = Directory.CreateTempSubdirectory("kvm_stat-novms-").FullName;
            Directory.CreateDirectory(Path.Join(Root, "sys/kernel"));
            File.CreateSymbolicLink(Path.Join(Root, "sys/kernel/tracing"), "/sys/kernel/tracing");
            Directory.CreateDirectory(Path.Join(Root, "sys/devices/system/cpu"));
            foreach (string list in new[] { "online", "possible" })
                File.CreateSymbolicLink(Path.Join(Root, "sys/devices/system/cpu", list), "/sys/devices/system/cpu/" + list);
            Directory.CreateDirectory(Path.Join(Root, "proc"));
            // A KVM host (where no VM can run, that is what a missing VM's statistics are said by).
            Directory.CreateDirectory(Path.Join(Root, "dev"));
            File.WriteAllText(Path.Join(Root, "dev/kvm"), "");
        }

        internal string Root { get; }

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }

    /// <summary>The exporter serves as down what the host refuses, each cause said once: -d's host and per-VM sources share theirs.</summary>
    [Fact]
    public void SourcesDownForOneCauseSayItOnce()
    {
        using var fixture = new FixtureRoot();
        fixture.RemoveKvm();
        fixture.WriteFile("/sys/kernel/debug/sched/x", "1\n");
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["--serve", "127.0.0.1:9576", "-d"]));
        var said = new StringWriter();
        using var descriptors = new CounterDescriptors();
        var factory = new SourceFactory(options, fixture.Paths, new Reporter(verbose: false, said), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Default, Children: true), 0, PerVm: true, BinaryFields: false, BinaryPerVm: true, Lenient: true);
        factory.Open(plan, null, new GuestFinder(fixture.Paths)).Dispose();
        string[] lines = said.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("kvm_stat: debugfs cannot be read, served as down (kvm_stat_source_up 0): debugfs has no kvm folder", lines[0]);
        Assert.Contains("modprobe kvm_intel", lines[0]);
        Assert.Equal("kvm_stat: each VM's values cannot be read for the same cause, served as down (kvm_stat_source_up 0).", lines[1]);
    }

    [Fact]
    public void ASourceThatFailsAfterTheEngineLeavesNoProgramAttached()
    {
        using var root = new NoVmsRoot();
        var paths = new HostPaths(root.Root);
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--binary-stats", "--engine", "bpf", "-f", "kvm_(pio|userspace_exit)"]));
        var said = new StringWriter();
        using var descriptors = new CounterDescriptors();
        var factory = new SourceFactory(options, paths, new Reporter(verbose: true, said), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Create(options.Fields), Children: true), 0, PerVm: false, BinaryFields: true, BinaryPerVm: false, Lenient: false);
        int before = BpfCollection.OpenBpfObjects();

        var e = Assert.Throws<EnvironmentException>(() => factory.Open(plan, null, new GuestFinder(paths)));

        Assert.Contains("no running VM keeps KVM binary statistics descriptors open", e.Message);
        Assert.Contains("--qmp", e.Fix);
        Assert.Contains("counting with BPF programs", said.ToString());
        Assert.Equal(before, BpfCollection.OpenBpfObjects());
    }

    /// <summary>
    /// The same with kvm_exit on a VMX host: its program reads the exit reason from the record and
    /// is attached through a perf event, closed in the background. That event is closed too, so the
    /// program runs no more.
    /// </summary>
    [Fact]
    public void ASourceThatFailsAfterTheEngineLeavesNoPerfEventAttached()
    {
        using var root = new NoVmsRoot();
        Directory.CreateDirectory(Path.Join(root.Root, "sys/module/kvm_intel"));
        var paths = new HostPaths(root.Root);
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--binary-stats", "--engine", "bpf", "-f", "kvm_exit"]));
        using var descriptors = new CounterDescriptors();
        var factory = new SourceFactory(options, paths, new Reporter(verbose: true, new StringWriter()), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Create(options.Fields), Children: true), 0, PerVm: false, BinaryFields: true, BinaryPerVm: false, Lenient: false);
        int before = BpfCollection.OpenBpfObjects();

        Assert.Throws<EnvironmentException>(() => factory.Open(plan, null, new GuestFinder(paths)));

        Assert.Equal(before, BpfCollection.OpenBpfObjects());
        Assert.True(SpinWait.SpinUntil(() => descriptors.OpenCount == 0, TimeSpan.FromSeconds(30)),
            $"{descriptors.OpenCount} perf events of kvm_exit's program still open");
    }

    /// <summary>
    /// -f chooses among the latency fields as among the others; the tracepoints that stamp exits
    /// are counted whatever -f keeps, and shown only when it keeps them.
    /// </summary>
    [Theory]
    [InlineData("user_exit_p99", "user_exit_p99_us", "user_exit_p99_us(IO)", 3)]
    [InlineData("kvm_pio$", "kvm_pio", null, 4)]
    [InlineData("kvm_userspace_exit$|user_exit_timed$", "kvm_userspace_exit", "user_exit_timed", 3)]
    public void LatencyFieldsAreChosenByF(string pattern, string first, string? other, int programs)
    {
        using var root = new NoVmsRoot();
        var paths = new HostPaths(root.Root);
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--latency", "--engine", "bpf", "-f", pattern]));
        using var descriptors = new CounterDescriptors();
        var said = new StringWriter();
        var factory = new SourceFactory(options, paths, new Reporter(verbose: true, said), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Create(options.Fields), Children: true), 0, PerVm: false, BinaryFields: false, BinaryPerVm: false,
            Lenient: false, Latency: true);
        using Sampler sampler = factory.Open(plan, null, new GuestFinder(paths));
        sampler.Sample();
        string[] names = [.. Enumerable.Range(0, sampler.Snapshot.Host.Fields.Count).Select(i => sampler.Snapshot.Host.Fields[i].Name)];
        Assert.Equal(first, names[0]);
        Assert.All(names, name => Assert.Matches(pattern, name));
        if (other is null)
            Assert.DoesNotContain(names, name => name.Contains("exit", StringComparison.Ordinal));
        else
            Assert.Contains(other, names);
        // kvm_userspace_exit's program stamps exits whatever is shown (with the entry and exit programs).
        Assert.True(said.ToString().Contains($"BPF: {programs} programs", StringComparison.Ordinal), said.ToString());
    }

    /// <summary>-f naming exit latencies without --latency: the fix says what they need, for either engine.</summary>
    [Theory]
    [InlineData("bpf", "user_exit_p99", true)]
    [InlineData("perf", "kernel_exit", true)]
    [InlineData("bpf", "nomatch", false)]
    public void AnFOfExitLatenciesWithoutLatencySaysWhatTheyNeed(string engine, string pattern, bool latencyHint)
    {
        using var root = new NoVmsRoot();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--engine", engine, "-f", pattern]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        var e = Assert.Throws<UsageException>(() => session.OpenSampler());
        Assert.Equal($"no tracepoint field matches \"{pattern}\".", e.Message);
        Assert.Equal(latencyHint
            ? "Exit latencies (user_exit_*, kernel_exit_*) are fields only with --latency, counted by the BPF engine; list the fields with: kvm_stat -f help --latency"
            : "List the available fields with: kvm_stat -f help", e.Fix);
    }

    /// <summary>-f naming vCPU children where there are none (no --vcpus, or no -p): the fix says what they need.</summary>
    [Theory]
    [InlineData("-1")]
    [InlineData("-1", "--vcpus", "--json")]
    public void AnFOfVcpuChildrenWithoutThemSaysWhatTheyNeed(params string[] args)
    {
        using var root = new NoVmsRoot();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse([.. args, "-t", "-f", @"kvm_pio\(vcpu0"]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        var e = Assert.Throws<UsageException>(() => session.OpenSampler());
        Assert.Equal(@"no tracepoint field matches ""kvm_pio\(vcpu0"".", e.Message);
        Assert.StartsWith("vCPU children (kvm_pio(vcpu0)) are fields only with -p or -g and --vcpus", e.Fix);
    }

    /// <summary>An -f that takes a second on a field leaves what it selects unknown: the run is refused with that cause (it was "no field matches", after a second a field).</summary>
    [Theory]
    [InlineData("bpf")]
    [InlineData("perf")]
    public void AnFTooSlowToMatchIsRefusedForWhatItIs(string engine)
    {
        using var root = new NoVmsRoot();
        const string Slow = @"(?=k)(\w|.|[a-z_])*Z|kvm_pio";
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--engine", engine, "-f", Slow]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        var e = Assert.Throws<UsageException>(() => session.OpenSampler());
        Assert.StartsWith($"\"{Slow}\" took over a second to match the field \"kvm_", e.Message);
        Assert.Equal(FieldFilter.SlowFix, e.Fix);
    }

    /// <summary>The exporter (lenient: it serves what opened) refuses it too: it would serve nothing.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AnFThatMatchesNoFieldAtAllIsAnErrorWithLatencies(bool lenient)
    {
        using var root = new NoVmsRoot();
        var paths = new HostPaths(root.Root);
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "--latency", "--engine", "bpf", "-f", "nomatch"]));
        using var descriptors = new CounterDescriptors();
        var factory = new SourceFactory(options, paths, new Reporter(verbose: false, new StringWriter()), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Create(options.Fields), Children: true), 0, PerVm: false, BinaryFields: false, BinaryPerVm: false,
            Lenient: lenient, Latency: true);
        int before = BpfCollection.OpenBpfObjects();
        var e = Assert.Throws<UsageException>(() => factory.Open(plan, null, new GuestFinder(paths)));
        Assert.Equal("no field matches \"nomatch\".", e.Message);
        Assert.Equal(before, BpfCollection.OpenBpfObjects());
    }

    [Fact]
    public void FHelpListsTheLatencyFieldsWithLatency()
    {
        using var root = new NoVmsRoot();
        var paths = new HostPaths(root.Root);
        using var descriptors = new CounterDescriptors();
        IReadOnlyList<string> Names(params string[] args) => new SourceFactory(CommandLine.ToOptions(CommandLine.Build().Parse(args)), paths,
            new Reporter(verbose: false, new StringWriter()), descriptors, TimeProvider.System).ParentFieldNames();
        IReadOnlyList<string> with = Names("-f", "help", "--latency"), without = Names("-f", "help");
        Assert.Contains("user_exit_p99_us", with);
        Assert.Contains("kvm_userspace_exit", with);
        // kvm_entry ends no exit on this fixture (neither VMX nor SVM): nothing in the kernel is timed.
        Assert.DoesNotContain(with, n => n.StartsWith("kernel_exit", StringComparison.Ordinal));
        Assert.DoesNotContain("user_exit_p99_us", without);
        Assert.DoesNotContain("user_exit_p99_us", Names("-f", "help", "--latency", "--engine", "perf"));
    }

    /// <summary>
    /// -f choosing some reasons of a tracepoint: the BPF engine counts every reason of it (each event
    /// goes to one child) and shows the chosen ones; a tracepoint chosen without reasons reads none.
    /// </summary>
    [Fact]
    public void TheBpfEngineCountsTheReasonsFLeftOutAndShowsTheChosen()
    {
        using var root = new NoVmsRoot();
        var paths = new HostPaths(root.Root);
        using var descriptors = new CounterDescriptors();
        var engines = new TracepointEngines(TracepointEngineChoice.Bpf, paths, new Reporter(verbose: false, new StringWriter()), descriptors,
            new VmDiscovery(paths, TimeProvider.System, _ => { }));
        BpfCounters Open(string pattern) =>
            Assert.IsType<BpfEngine>(engines.Open(new FieldSelection(FieldFilter.Create(pattern), Children: true), eachVm: true, pid: 0)).Counters;

        using (BpfCounters some = Open(@"kvm_userspace_exit\(IO\)"))
        {
            Assert.Equal(["kvm_userspace_exit", "kvm_userspace_exit(IO)"], some.Fields.Take(some.Shown).Select(f => f.Name).Order());
            Assert.Contains(some.Fields.Skip(some.Shown), f => f.Name == "kvm_userspace_exit(OTHER)");
            Assert.All(some.Fields.Skip(some.Shown), f => Assert.Equal("kvm_userspace_exit", f.Parent));
        }
        using BpfCounters none = Open("kvm_userspace_exit$");
        Assert.Equal(["kvm_userspace_exit"], none.Fields.Select(f => f.Name));
    }

    /// <summary>
    /// --guest-fields that keeps no field of the guests is refused, as -f is: every guest would be
    /// without values. With --latency a pattern of reasons alone keeps those of each guest's exit
    /// histograms (README's kvm_userspace_exit\((IO|MMIO)); the pattern is said as typed.
    /// </summary>
    [Theory]
    [InlineData("kvm-pio", "--json", false, true)]
    [InlineData("kvm_pio", "--json", false, false)]
    // Reasons alone bring their event.
    [InlineData(@"kvm_userspace_exit\(", "--json", false, false)]
    [InlineData(@"kvm_userspace_exit\(", "--serve", false, false)]
    [InlineData(@"kvm_userspace_exit\(NOSUCH", "--serve", false, true)]
    // Reasons of exit latencies alone, where -f leaves their event out of the guests' fields.
    [InlineData(@"kvm_userspace_exit\((IO|MMIO)", "--json", true, false, "kvm_pio")]
    [InlineData(@"kvm_userspace_exit\((IO|MMIO)", "--json", false, true, "kvm_pio")]
    // Perf counters count no guest's reasons.
    [InlineData(@"kvm_userspace_exit\(", "--json", false, true, "kvm_(pio|mmio|userspace_exit)", "perf")]
    [InlineData(@"kvm_userspace_exit", "--serve", false, false)]
    [InlineData(@"kvm_userspace_exit\((IO|MMIO)", "--serve", true, false)]
    [InlineData(@"kvm_userspace_exit\((IO|MMIO)", "--json", true, false)]
    [InlineData(@"kvm_userspace_exit\(NOSUCH", "--json", true, true)]
    public void GuestFieldsThatKeepNoFieldAreRefused(string pattern, string mode, bool latency, bool refused, string fields = "kvm_(pio|mmio|userspace_exit)",
        string engine = "bpf")
    {
        using var root = new NoVmsRoot();
        string[] output = mode == "--json" ? ["-l", "--json"] : ["--serve", "127.0.0.1:9576"];
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse([.. output, "-f", fields, "--guest-fields", pattern, "--engine", engine,
            .. latency ? new[] { "--latency" } : []]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        Sampler Open() => mode == "--json" ? session.OpenSampler() : session.OpenExporterSampler();
        if (!refused)
        {
            Open();
            return;
        }
        var e = Assert.Throws<UsageException>(Open);
        Assert.Equal(latency
            ? $"--guest-fields \"{pattern}\" matches no event of the guests and no reason of their exit latencies."
            : $"--guest-fields \"{pattern}\" matches no event of the guests nor a reason of their exits (the BPF engine counts those per guest).", e.Message);
    }

    /// <summary>
    /// --guest-fields that keeps a field but takes a second on another is refused at start with that
    /// cause, naming the option: it was taken for the field it kept, and matched nothing more at
    /// later records or scrapes. With --latency the reasons of each guest's histograms are asked
    /// too, where -f leaves them out of the fields.
    /// </summary>
    [Theory]
    [InlineData("--json", @"kvm_mmio|(?=kvm_u)(\w|.|[a-z_])*Z", "kvm_(pio|mmio|userspace_exit)", "kvm_userspace_exit")]
    [InlineData("--serve", @"kvm_mmio|(?=kvm_u)(\w|.|[a-z_])*Z", "kvm_(pio|mmio|userspace_exit)", "kvm_userspace_exit")]
    [InlineData("--json", @"kvm_pio|(?=kvm_userspace_exit\()(\w|.|[a-z_])*Z", "kvm_pio", "kvm_userspace_exit(")]
    [InlineData("--serve", @"kvm_pio|(?=kvm_userspace_exit\()(\w|.|[a-z_])*Z", "kvm_pio", "kvm_userspace_exit(")]
    public void GuestFieldsTooSlowForAnyFieldAreRefused(string mode, string slow, string fields, string timedOut)
    {
        using var root = new NoVmsRoot();
        string[] output = mode == "--json" ? ["-l", "--json"] : ["--serve", "127.0.0.1:9576"];
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse([.. output, "-f", fields, "--guest-fields", slow, "--engine", "bpf", "--latency"]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        var e = Assert.Throws<UsageException>(() => mode == "--json" ? session.OpenSampler() : session.OpenExporterSampler());
        Assert.StartsWith($"--guest-fields \"{slow}\" took over a second to match the field \"{timedOut}", e.Message);
        Assert.Equal(FieldFilter.SlowFix, e.Fix);
    }

    /// <summary>
    /// A name met once a run is under way (a new VM's binary statistics) that takes -f or
    /// --guest-fields a second is said in one line, once: the names after it are left out, never
    /// in silence.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APatternTooSlowForANameMetLaterIsSaidOnce(bool guestFields)
    {
        using var root = new NoVmsRoot();
        const string Slow = @"kvm_pio|(?=zz)(\w|.|[a-z_])*Z";
        var warnings = new StringWriter();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(guestFields
            ? ["-l", "--json", "-f", "kvm_pio", "--guest-fields", Slow, "--engine", "bpf"]
            : ["-l", "--json", "-f", Slow, "--engine", "bpf"]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, warnings), TimeProvider.System);
        session.OpenSampler();
        Assert.Equal("", warnings.ToString());
        FieldFilter filter = guestFields ? session.GuestFilter : session.Selection.Filter;
        Assert.False(filter.Matches("zz_halt_wait_ns_aaaaaaaaaaaaaaaaaaaaaaaaa"));
        Assert.False(filter.Matches("zz_other_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        string[] lines = warnings.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([$"kvm_stat: {(guestFields ? "--guest-fields" : "-f")} \"{Slow}\" took over a second to match the field \"zz_halt_wait_ns_aaaaaaaaaaaaaaaaaaaaaaaaa\", so what it selects is unknown. " +
            $"Fields met from now on {(guestFields ? "get no per-guest values" : "are left out")}. {FieldFilter.SlowFix}"], lines);
    }

    /// <summary>The screen's own filter (a regex given at its f prompt) is told the same way once its sampler opens.</summary>
    [Fact]
    public void TheScreensFilterTooSlowForANameMetLaterIsSaidOnce()
    {
        using var root = new NoVmsRoot();
        const string Slow = @"kvm_pio|(?=zz)(\w|.|[a-z_])*Z";
        var warnings = new StringWriter();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["--engine", "bpf"]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, warnings), TimeProvider.System);
        FieldFilter prompt = FieldFilter.Create(Slow);
        new TuiBackend(session).OpenSampler(new FieldSelection(prompt, Children: true), 0, perVm: false, latency: false);
        Assert.False(prompt.Matches("zz_halt_wait_ns_aaaaaaaaaaaaaaaaaaaaaaaaa"));
        Assert.StartsWith($"kvm_stat: -f \"{Slow}\" took over a second to match the field \"zz_halt_wait_ns_", warnings.ToString());
    }

    /// <summary>The filters a run was checked with at start are those its outputs match with: each name is matched once, its answer kept.</summary>
    [Fact]
    public void ARunsFiltersAreMadeOnce()
    {
        using var root = new NoVmsRoot();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-l", "--json", "-f", "kvm_pio", "--guest-fields", "kvm_pio"]));
        using Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System);
        Assert.Same(session.Selection.Filter, session.Selection.Filter);
        Assert.Same(session.GuestFilter, session.GuestFilter);
    }

    /// <summary>
    /// An -f that keeps only debugfs fields shows them, as the reference's tracepoint provider left
    /// with no field does: no tracepoint program is loaded for nothing. With tracepoints alone it
    /// is an error, and the exporter refuses an -f that keeps nothing of any source.
    /// </summary>
    [Theory]
    [InlineData("pages_4k", false, null)]
    [InlineData("pages_4k", true, null)]
    [InlineData("nomatch", false, "no field matches \"nomatch\".")]
    [InlineData("nomatch", true, "no field matches \"nomatch\".")]
    public void AnFOfDebugfsFieldsOnlyOpensNoEngine(string pattern, bool lenient, string? error)
    {
        using var root = new NoVmsRoot();
        Directory.CreateDirectory(Path.Join(root.Root, "sys/kernel/debug/kvm"));
        File.WriteAllText(Path.Join(root.Root, "sys/kernel/debug/kvm/pages_4k"), "7\n");
        File.SetUnixFileMode(Path.Join(root.Root, "sys/kernel/debug/kvm/pages_4k"), UnixFileMode.UserRead);
        // The host's value is the sum of the VMs' folders.
        Directory.CreateDirectory(Path.Join(root.Root, "sys/kernel/debug/kvm/1234-11"));
        File.WriteAllText(Path.Join(root.Root, "sys/kernel/debug/kvm/1234-11/pages_4k"), "7\n");
        var paths = new HostPaths(root.Root);
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "-d", "--engine", "bpf", "-f", pattern]));
        using var descriptors = new CounterDescriptors();
        var factory = new SourceFactory(options, paths, new Reporter(verbose: false, new StringWriter()), descriptors, TimeProvider.System);
        var plan = new SamplingPlan(new FieldSelection(FieldFilter.Create(options.Fields), Children: true), 0, PerVm: lenient, BinaryFields: false, BinaryPerVm: false,
            Lenient: lenient);
        int before = BpfCollection.OpenBpfObjects();
        if (error is not null)
        {
            Assert.Equal(error, Assert.Throws<UsageException>(() => factory.Open(plan, null, new GuestFinder(paths))).Message);
            return;
        }
        using Sampler sampler = factory.Open(plan, null, new GuestFinder(paths));
        sampler.Sample();
        Assert.Equal(before, BpfCollection.OpenBpfObjects());
        Assert.Equal(1, sampler.Snapshot.Host.Fields.Count);
        Assert.Equal("pages_4k", sampler.Snapshot.Host.Fields[0].Name);
        Assert.Equal(7, sampler.Snapshot.Host.Totals[0]);
    }

    [Fact]
    public void AnFThatKeepsNoTracepointFieldIsAnErrorWithTracepointsAlone()
    {
        using var root = new NoVmsRoot();
        Options options = CommandLine.ToOptions(CommandLine.Build().Parse(["-1", "-t", "-f", "pages_4k"]));
        using (Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System))
        {
            UsageException e = Assert.Throws<UsageException>(() => session.OpenSampler());
            Assert.Equal(("no tracepoint field matches \"pages_4k\".", "List the available fields with: kvm_stat -f help"), (e.Message, e.Fix));
        }
        // Where debugfs has it, the fix says how to read it.
        Directory.CreateDirectory(Path.Join(root.Root, "sys/kernel/debug/kvm"));
        File.WriteAllText(Path.Join(root.Root, "sys/kernel/debug/kvm/pages_4k"), "3\n");
        using (Session session = Session.Resolve(options, new HostPaths(root.Root), new Reporter(verbose: false, new StringWriter()), TimeProvider.System))
        {
            UsageException e = Assert.Throws<UsageException>(() => session.OpenSampler());
            Assert.Equal("It names 1 field (pages_4k) of debugfs: read debugfs with -d (-d -t for both).", e.Fix);
        }
    }
}
