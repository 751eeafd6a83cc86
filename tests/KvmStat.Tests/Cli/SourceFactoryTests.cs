using KvmStat.Cli;
using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources.Perf;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>What the factory opens for a sampler, and that a failure on the way closes all of it.</summary>
[Collection(BpfCollection.Name)]
public class SourceFactoryTests
{
    /// <summary>
    /// This host's tracefs and CPU lists, and a /proc with no process in it: the BPF engine opens
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
        }

        internal string Root { get; }

        public void Dispose() => Directory.Delete(Root, recursive: true);
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
}
