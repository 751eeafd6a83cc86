using KvmStat.Cli;
using KvmStat.Output;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>The log's schedule: interval N is due at start + N × delay, whatever each wait overran.</summary>
public class LogModeTests
{
    /// <summary>Waits by moving the clock to the end of the wait, plus however late this wait wakes.</summary>
    private sealed class LateWaits(ManualTime time, Func<TimeSpan> lateness) : ILoopSignals
    {
        public bool StopRequested { get; set; }

        public bool TakeHangup() => false;

        public void ResetWake()
        {
        }

        public void Wait(TimeSpan timeout) => time.Advance(timeout + lateness());
    }

    /// <summary>Records when each record is rendered, and stops the loop after enough of them.</summary>
    private sealed class Recorder(ManualTime time, int records, LateWaits signals) : IStatsRenderer
    {
        internal List<long> Times { get; } = [];

        public void Start(Snapshot snapshot)
        {
        }

        public void Render(Snapshot snapshot)
        {
            Times.Add(time.GetTimestamp());
            if (Times.Count == records)
                signals.StopRequested = true;
        }

        public void Reopened(Snapshot snapshot)
        {
        }
    }

    private static List<long> Run(ManualTime time, Func<TimeSpan> lateness, int records)
    {
        var signals = new LateWaits(time, lateness);
        var recorder = new Recorder(time, records, signals);
        using var sampler = Samplers.Of(time, [new FakeSource(FakeSource.Counter("kvm_pio"))]);
        using OutputSink sink = OutputSink.Stdout(new StringWriter());
        Assert.Equal(0, LogMode.Run(sampler, 0.5, signals, time, recorder, sink, () => { }));
        return recorder.Times;
    }

    [Fact]
    public void WaitsThatOverrunDoNotShiftLaterRecords()
    {
        var time = new ManualTime();
        long interval = time.TimestampFrequency / 2;
        long ms = time.TimestampFrequency / 1000;
        long start = time.GetTimestamp();
        List<long> times = Run(time, () => TimeSpan.FromMilliseconds(7), records: 100); // every wait wakes 7 ms late
        for (int n = 1; n <= 100; n++)
            Assert.Equal(start + n * interval + 7 * ms, times[n - 1]);
    }

    [Fact]
    public void IntervalsMissedEntirelyAreSkippedNotBunched()
    {
        var time = new ManualTime();
        long interval = time.TimestampFrequency / 2;
        int waits = 0;
        // The third wait returns 2.2 intervals late (the host was suspended).
        long start = time.GetTimestamp();
        List<long> times = Run(time, () => ++waits == 3 ? TimeSpan.FromSeconds(0.5 * 2.2) : TimeSpan.Zero, records: 5);
        Assert.Equal(
            [start + interval, start + 2 * interval, start + 3 * interval + interval * 22 / 10, start + 6 * interval, start + 7 * interval],
            times);
    }
}
