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
        Assert.Equal(0, LogMode.Run(sampler, 0.5, signals, time, recorder, sink, () => { }, _ => { }));
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
    /// <summary>Hangs up when told, and waits by moving the clock.</summary>
    private sealed class Hangups(ManualTime time) : ILoopSignals
    {
        public bool StopRequested { get; set; }

        internal bool Hangup { get; set; }

        public bool TakeHangup()
        {
            bool hangup = Hangup;
            Hangup = false;
            return hangup;
        }

        public void ResetWake()
        {
        }

        public void Wait(TimeSpan timeout) => time.Advance(timeout);
    }

    /// <summary>Writes "record N" for each record (and "reopened") into the sink, and runs a step of the test after each record.</summary>
    private sealed class Script(OutputSink sink, Hangups signals, params Action[] steps) : IStatsRenderer
    {
        private int _records;

        public void Start(Snapshot snapshot)
        {
        }

        public void Render(Snapshot snapshot)
        {
            sink.Write(System.Text.Encoding.UTF8.GetBytes($"record {++_records}\n"));
            if (_records <= steps.Length)
                steps[_records - 1]();
            else
                signals.StopRequested = true;
        }

        public void Reopened(Snapshot snapshot) => sink.Write("reopened\n"u8);
    }

    /// <summary>
    /// SIGHUP after logrotate, where the name now holds a link another user planted: the link is
    /// not followed, the log goes on into the file open before with one warning, nothing is lost,
    /// and the next SIGHUP opens the file once the name is free.
    /// </summary>
    [Fact]
    public void AReopenThatIsRefusedKeepsLoggingIntoTheFileOpenBefore()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-hup-").FullName;
        try
        {
            string log = Path.Join(folder, "kvm.log"), target = Path.Join(folder, "target");
            File.WriteAllText(target, "precious\n");
            var time = new ManualTime();
            var signals = new Hangups(time);
            var warnings = new List<string>();
            using var sampler = Samplers.Of(time, [new FakeSource(FakeSource.Counter("kvm_pio"))]);
            using OutputSink sink = OutputSink.AppendTo(log);
            var script = new Script(sink, signals,
                () =>
                {
                    File.Move(log, log + ".1");
                    File.CreateSymbolicLink(log, target);
                    signals.Hangup = true;
                },
                () =>
                {
                    File.Delete(log);
                    signals.Hangup = true;
                });
            Assert.Equal(0, LogMode.Run(sampler, 1.0, signals, time, script, sink, () => { }, warnings.Add));
            Assert.Equal($"log file \"{log}\" is a symbolic link, not a regular file: not written to. Records go on to the file open before; the next SIGHUP tries again.",
                Assert.Single(warnings));
            Assert.Equal(["record 1", "record 2"], File.ReadAllLines(log + ".1"));
            Assert.Equal(["reopened", "record 3"], File.ReadAllLines(log));
            Assert.Equal("precious\n", File.ReadAllText(target));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
