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
    /// <summary>
    /// Per-CPU maps give a value for each CPU the kernel may bring up: their buffers are sized by the
    /// kernel's own count, never by a fixture's (which says "0" here) or a guess, which the kernel
    /// would write past.
    /// </summary>
    [Fact]
    public void AFixturesPossibleCpusAreNotTheKernels()
    {
        using var engine = new SyntheticEngine(scope: BpfScope.Host);
        int kernels = KvmStat.Host.OnlineCpus.Parse(File.ReadAllText(KvmStat.Host.OnlineCpus.KernelPossible))!.Count;
        Assert.Equal(kernels, engine.Counters.Layout.Cpus);
        engine.Counters.Capture();
    }

    [Theory]
    [InlineData("")]
    [InlineData("0-x")]
    public void PossibleCpusThatCannotBeReadAreAPlainError(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"possible-{Environment.ProcessId}-{Guid.NewGuid():N}");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<EnvironmentException>(() => KvmStat.Host.OnlineCpus.Possible(path));
            Assert.StartsWith($"cannot parse {path}", e.Message);
            Assert.Equal("Count with --engine perf.", e.Fix);
        }
        finally
        {
            File.Delete(path);
        }
        Assert.Throws<EnvironmentException>(() => KvmStat.Host.OnlineCpus.Possible(path));
    }
}
