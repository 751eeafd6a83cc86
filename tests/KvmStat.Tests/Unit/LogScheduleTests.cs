using System.Diagnostics;
using KvmStat.Cli;
using KvmStat.Output;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Unit;

/// <summary>The log's schedule: interval N is due at start + N × delay, whatever each wait overran.</summary>
public class LogScheduleTests
{
    private sealed class LateClock(Func<long, long> lateness) : LoopClock
    {
        internal long Time { get; set; } = 1_000_000;

        internal override long Now => Time;

        internal override void WaitUntil(long due) => Time = due + lateness(due);
    }

    /// <summary>Records when each record is rendered, and stops the loop after enough of them.</summary>
    private sealed class Recorder(LateClock clock, int records, Signals signals) : IStatsRenderer
    {
        internal List<long> Times { get; } = [];

        public void Start(StatsCollector stats)
        {
        }

        public void Render(StatsCollector stats, DateTime timestamp)
        {
            Times.Add(clock.Time);
            if (Times.Count == records)
                signals.RequestStop();
        }

        public void Reopened(StatsCollector stats)
        {
        }
    }

    private static List<long> Run(LateClock clock, int records)
    {
        using var signals = new Signals(handleHangup: false);
        var recorder = new Recorder(clock, records, signals);
        using var stats = new StatsCollector([new FakeSource(FakeSource.Counter("kvm_pio"))]);
        using OutputSink sink = OutputSink.Stdout(new StringWriter());
        Assert.Equal(0, Modes.RunLog(stats, 0.5, signals, clock, recorder, sink, () => { }));
        return recorder.Times;
    }

    [Fact]
    public void WaitsThatOverrunDoNotShiftLaterRecords()
    {
        long interval = Stopwatch.Frequency / 2;
        long ms = Stopwatch.Frequency / 1000;
        var clock = new LateClock(_ => 7 * ms); // every wait wakes 7 ms late
        long start = clock.Time;
        List<long> times = Run(clock, records: 100);
        for (int n = 1; n <= 100; n++)
            Assert.Equal(start + n * interval + 7 * ms, times[n - 1]);
    }

    [Fact]
    public void IntervalsMissedEntirelyAreSkippedNotBunched()
    {
        long interval = Stopwatch.Frequency / 2;
        int waits = 0;
        // The third wait returns 2.2 intervals late (the host was suspended).
        var clock = new LateClock(_ => ++waits == 3 ? interval * 22 / 10 : 0);
        long start = clock.Time;
        List<long> times = Run(clock, records: 5);
        Assert.Equal(
            [start + interval, start + 2 * interval, start + 3 * interval + interval * 22 / 10, start + 6 * interval, start + 7 * interval],
            times);
    }
}
