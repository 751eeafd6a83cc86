using KvmStat.Guests;
using KvmStat.Host;
using KvmStat.Sources;
using KvmStat.Sources.Perf;
using KvmStat.Sources.Tracepoints;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Sources.Perf;

/// <summary>
/// The perf engine's per-VM rows add up to the host's totals, with real counters and no KVM: the
/// fixture's "kvm_pio" is the id of syscalls:sys_enter_getppid, so a thread that calls getppid()
/// raises it; the fixture's VMs are threads of this test.
/// </summary>
public class PerfOutsideVmsTests
{
    /// <summary>A thread that calls getppid() as often as asked, and stays (its id is a VM's thread in the fixture).</summary>
    private sealed class Caller : IDisposable
    {
        private readonly Thread _thread;
        private readonly SemaphoreSlim _asked = new(0), _done = new(0);
        private int _count = -1;

        internal Caller()
        {
            var started = new TaskCompletionSource<int>();
            _thread = new Thread(() =>
            {
                started.SetResult(KvmStat.Tests.TestGuest.KvmInterop.GetTid());
                while (true)
                {
                    _asked.Wait();
                    if (_count < 0)
                        return;
                    for (int i = 0; i < _count; i++)
                        GetppidTracepoint.Call();
                    _done.Release();
                }
            }) { IsBackground = true };
            _thread.Start();
            Tid = started.Task.GetAwaiter().GetResult();
        }

        internal int Tid { get; }

        internal void Call(int count)
        {
            _count = count;
            _asked.Release();
            Assert.True(_done.Wait(TimeSpan.FromSeconds(30)), "the calling thread did not finish");
        }

        public void Dispose()
        {
            _count = -1;
            _asked.Release();
            _thread.Join();
        }
    }

    private static void AddVm(FixtureRoot fixture, int pid, int tid)
    {
        fixture.AddProcess(pid, ["qemu-system-x86_64", "-name", $"vm{pid}"], threads: [tid]);
        fixture.MarkRunning(pid);
        fixture.AddDebugfsStat($"{pid}-12/exits", 0);
        fixture.AddDescriptor(pid, 12, "anon_inode:kvm-vm");
    }

    /// <summary>
    /// Each VM's thread is counted exactly; a thread of no VM is in the row outside VMs; a VM that
    /// exits takes its counts to the exited VMs' row, and its thread's later calls are outside; at
    /// every sample the rows are what the host counted since the guests' first sample.
    /// </summary>
    [Fact]
    public void TheVmsOutsideAndExitedRowsAddUpToTheHost()
    {
        GetppidTracepoint.SkipUnlessTraced();
        using var fixture = new FixtureRoot();
        GetppidTracepoint.AddAs(fixture, "kvm_pio");
        using Caller a = new(), b = new(), other = new();
        AddVm(fixture, 100_001, a.Tid);
        AddVm(fixture, 100_002, b.Tid);
        var time = new ManualTime();
        using var descriptors = new CounterDescriptors();
        Tracefs tracefs = Tracefs.Locate(fixture.Paths);
        TracepointCounterSet Set() => new(tracefs, [new TracepointField("kvm_pio", "kvm_pio", null, null)], descriptors, verbose: null);
        var perVm = new PerVmTracepointSource(Set(), fixture.Paths, new VmDiscovery(fixture.Paths, time, _ => { }), _ => { });
        using Sampler sampler = Samplers.Of(time, [TracepointSource.ForAllCpus(Set(), OnlineCpus.Read(new HostPaths()))], perVm);
        sampler.Sample();
        long start = sampler.Snapshot.Host.Totals[0];
        (long A, long B, long Outside, long Exited) Sample()
        {
            time.Advance(TimeSpan.FromSeconds(4));
            sampler.Sample();
            IGuestValues guests = sampler.Snapshot.Guests!;
            long Guest(int pid) => guests.Guests.SingleOrDefault(g => g.Pid == pid)?.FieldTotals[0] ?? -1;
            long Row(VmRowKind kind) => Assert.Single(guests.Others, o => o.Kind == kind).FieldTotals[0];
            (long A, long B, long Outside, long Exited) rows = (Guest(100_001), Guest(100_002), Row(VmRowKind.OutsideVms), Row(VmRowKind.ExitedVms));
            Assert.Equal(sampler.Snapshot.Host.Totals[0] - start, Math.Max(rows.A, 0) + Math.Max(rows.B, 0) + rows.Outside + rows.Exited);
            return rows;
        }

        a.Call(100);
        b.Call(50);
        other.Call(30);
        (long A, long B, long Outside, long Exited) first = Sample();
        Assert.Equal((100, 50, 0), (first.A, first.B, first.Exited));
        // Other processes of the host may call getppid() too: at least this test's other thread.
        Assert.InRange(first.Outside, 30, long.MaxValue);

        b.Call(20);
        fixture.RemoveDebugfsVm("100002-12");
        fixture.RemoveProcess(100_002);
        (long A, long B, long Outside, long Exited) exited = Sample();
        Assert.Equal((100, -1, 70), (exited.A, exited.B, exited.Exited));

        b.Call(10);
        a.Call(5);
        (long A, long B, long Outside, long Exited) after = Sample();
        Assert.Equal((105, 70), (after.A, after.Exited));
        Assert.InRange(after.Outside - exited.Outside, 10, long.MaxValue);
    }
}
