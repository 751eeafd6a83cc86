using KvmStat.Sources;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Stats;

public class SamplingSourcesTests
{
    private sealed class FailingToClose : IStatsSource
    {
        public string Name => "failing";

        public IReadOnlyList<StatField> Fields => [];

        public void Read(Span<long> values)
        {
        }

        public void Dispose() => throw new IOException("close failed");
    }

    private sealed class Engine : ITracepointEngine
    {
        internal bool Disposed { get; private set; }

        public string Name => "test";

        public ICapture? Capture => null;

        public IStatsSource OpenHost(int pid, IFieldSelection? vcpus = null) => throw new NotSupportedException();

        public IPerVmSource OpenPerVm() => throw new NotSupportedException();

        public void Dispose() => Disposed = true;
    }

    /// <summary>
    /// A source that fails to close leaves nothing else open: the sources after it and the engine
    /// under them (its programs attached) close too, and the failure is not lost.
    /// </summary>
    [Fact]
    public void ASourceThatFailsToCloseLeavesTheEngineClosedAndTheFailureSaid()
    {
        var engine = new Engine();
        var after = new FakeSource(FakeSource.Counter("kvm_pio"));
        var sources = new SamplingSources { Engine = engine };
        sources.Host.AddRange([new FailingToClose(), after]);
        IOException e = Assert.Throws<IOException>(sources.Dispose);
        Assert.Equal("close failed", e.Message);
        Assert.True(engine.Disposed);
        Assert.True(after.Disposed);
        Assert.Empty(sources.Host);
        Assert.Null(sources.Engine);
    }
}
