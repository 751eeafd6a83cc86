using KvmStat.Cli;
using KvmStat.Output;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Cli;

/// <summary>-1 and -l's loops on a manual clock: what is printed, and when.</summary>
public class BatchModeTests
{
    private readonly ManualTime _time = new();
    private readonly FakeSource _source = new(FakeSource.Counter("kvm_pio"));

    /// <summary>Waits by moving the clock; a test can ask for a stop or a hangup at the Nth wait.</summary>
    private sealed class Waits(ManualTime time) : ILoopSignals
    {
        internal int Count { get; private set; }
        internal Action<int>? OnWait { get; set; }
        internal bool Stop { get; set; }
        internal bool Hangup { get; set; }

        public bool StopRequested => Stop;

        public bool TakeHangup()
        {
            bool hangup = Hangup;
            Hangup = false;
            return hangup;
        }

        public void ResetWake()
        {
        }

        public void Wait(TimeSpan timeout)
        {
            Count++;
            time.Advance(timeout);
            OnWait?.Invoke(Count);
        }
    }

    [Fact]
    public void OneSampleAfterTheWholeInterval()
    {
        using var sampler = Samplers.Of(_time, [_source]);
        var output = new StringWriter();
        using OutputSink sink = OutputSink.Stdout(output);
        var waits = new Waits(_time) { OnWait = _ => _source.Set("kvm_pio", 1234) };
        long started = _time.GetTimestamp();
        bool ready = false;
        Assert.Equal(0, BatchMode.Run(sampler, 2.5, waits, _time, new BatchRenderer(sink), () => ready = true));
        Assert.True(ready);
        Assert.Equal($"{"kvm_pio",-42}{1234,10}{1234,10}\n", output.ToString());
        Assert.Equal(2.5, _time.GetElapsedTime(started, _time.GetTimestamp()).TotalSeconds);
    }

    [Fact]
    public void InterruptedBeforeTheIntervalEndsPrintsNothing()
    {
        using var sampler = Samplers.Of(_time, [_source]);
        var output = new StringWriter();
        using OutputSink sink = OutputSink.Stdout(output);
        var waits = new Waits(_time);
        waits.OnWait = _ =>
        {
            _source.Set("kvm_pio", 5);
            waits.Stop = true;
        };
        Assert.Equal(0, BatchMode.Run(sampler, 25.5, waits, _time, new BatchRenderer(sink), () => { }));
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void AStoppedLogWritesItsPartialIntervalOnlyIfSomethingHappened()
    {
        foreach (long lastCount in new long[] { 0, 9 })
        {
            using var sampler = Samplers.Of(_time, [new FakeSource(FakeSource.Counter("kvm_pio"))]);
            var source = (FakeSource)((StatsCollector)sampler.Snapshot.Host).Sources[0];
            var output = new StringWriter();
            using OutputSink sink = OutputSink.Stdout(output);
            var waits = new Waits(_time);
            // Stop in the middle of the second interval.
            waits.OnWait = n =>
            {
                if (n == 2)
                {
                    source.Set("kvm_pio", lastCount);
                    waits.Stop = true;
                }
            };
            Assert.Equal(0, LogMode.Run(sampler, 1.0, waits, _time, new LogRenderer(sink, new CsvLogFormat(), false), sink, () => { }, _ => { }));
            string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("timestamp,kvm_pio", lines[0]);
            Assert.Equal(lastCount == 0 ? 2 : 3, lines.Length);
            if (lastCount != 0)
                Assert.EndsWith(",9", lines[^1]);
        }
    }

    [Fact]
    public void AHangupReopensTheLogFileWithANewHeader()
    {
        string folder = Directory.CreateTempSubdirectory("kvm_stat-hup-").FullName;
        try
        {
            string log = Path.Join(folder, "kvm.csv");
            using var sampler = Samplers.Of(_time, [_source]);
            using OutputSink sink = OutputSink.AppendTo(log);
            var waits = new Waits(_time);
            waits.OnWait = n =>
            {
                if (n == 1)
                {
                    File.Move(log, log + ".1");
                    waits.Hangup = true;
                }
                else if (n == 2)
                {
                    waits.Stop = true;
                    _source.Set("kvm_pio", 3);
                }
            };
            Assert.Equal(0, LogMode.Run(sampler, 10.0, waits, _time, new LogRenderer(sink, new CsvLogFormat(), false), sink, () => { }, _ => { }));
            // Renamed away after its header: the first interval's record goes into the new file, with a header.
            Assert.Equal(["timestamp,kvm_pio"], File.ReadAllLines(log + ".1"));
            string[] lines = File.ReadAllLines(log);
            Assert.Equal(3, lines.Length);
            Assert.Equal("timestamp,kvm_pio", lines[0]);
            Assert.EndsWith(",0", lines[1]);
            Assert.EndsWith(",3", lines[2]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
