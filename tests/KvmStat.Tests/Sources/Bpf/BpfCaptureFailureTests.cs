using System.Runtime.InteropServices;
using KvmStat.Sources.Bpf;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Bpf;

/// <summary>A map the kernel refuses to read mid-run is a plain error with a fix, never an internal error.</summary>
[Collection(BpfCollection.Name)]
public partial class BpfCaptureFailureTests
{
    [LibraryImport("libc.so.6", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [Fact]
    public void AMapThatCannotBeReadIsAnErrorThatNamesItsFix()
    {
        // The host's totals: a per-CPU row read by a lookup in the kernel at every capture.
        using var engine = new SyntheticEngine(scope: BpfScope.Host);
        engine.Counters.Capture();
        // The table becomes a file that is no map: the next lookup fails in the kernel.
        BpfMap counts = engine.Counters.Maps.Single(m => m.Name == CounterProgram.Counts);
        using (FileStream devNull = File.OpenRead("/dev/null"))
            Assert.Equal(counts.Descriptor, Dup2((int)devNull.SafeFileHandle.DangerousGetHandle(), counts.Descriptor));
        var e = Assert.Throws<EnvironmentException>(engine.Counters.Capture);
        Assert.StartsWith("reading the BPF engine's tables failed: ", e.Message);
        Assert.Equal("Run kvm_stat again; if it fails again, count with perf counters: --engine perf.", e.Fix);
    }
}
