using KvmStat.Output;
using KvmStat.Stats;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Output;

public class RendererTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-out-").FullName;
    private readonly FakeSource _source = new(
        FakeSource.Counter("kvm_pio"), FakeSource.Counter("kvm_exit"), FakeSource.Counter("kvm_exit(HLT)", "kvm_exit"));
    private readonly Sampler _sampler;

    /// <summary>The samples' time: 2026-11-27 09:05:03 (the clock stands still).</summary>
    private readonly ManualTime _time = new();

    public RendererTests()
    {
        _sampler = Samplers.Of(_time, [_source]);
        _sampler.Sample();
    }

    private Snapshot Snapshot => _sampler.Snapshot;

    public void Dispose()
    {
        _sampler.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private string LogFile => Path.Join(_folder, "log");

    private void Interval(long pio, long exit)
    {
        _source.Set("kvm_pio", _source.Values[0] + pio);
        _source.Set("kvm_exit", _source.Values[1] + exit);
        _sampler.Sample();
    }

    [Fact]
    public void BatchPrintsEveryFieldByNameInTheReferenceLayout()
    {
        using (OutputSink sink = OutputSink.AppendTo(LogFile))
        {
            var renderer = new BatchRenderer(sink);
            renderer.Start(Snapshot);
            Interval(1234567, 3);
            renderer.Render(Snapshot);
        }
        Assert.Equal(
            "kvm_exit                                           3         3\n" +
            "kvm_exit(HLT)                                      0         0\n" +
            "kvm_pio                                      1234567   1234567\n",
            File.ReadAllText(LogFile));
    }

    [Fact]
    public void PlainLogRepeatsItsBannerEveryTwentyRecords()
    {
        using (OutputSink sink = OutputSink.AppendTo(LogFile))
        {
            var renderer = new LogRenderer(sink, new PlainLogFormat(), skipZeroRecords: false);
            renderer.Start(Snapshot);
            for (int i = 0; i < 41; i++)
            {
                Interval(i, 1);
                renderer.Render(Snapshot);
            }
        }
        string[] lines = File.ReadAllLines(LogFile);
        const string Banner = "kvm_exit kvm_exit(HLT) kvm_pio ";
        Assert.Equal(44, lines.Length);
        Assert.Equal(Banner, lines[0]);
        Assert.Equal("2026-11-27 09:05:03         1         0         0", lines[1]);
        Assert.Equal("2026-11-27 09:05:03         1         0        19", lines[20]);
        Assert.Equal(Banner, lines[21]);
        Assert.Equal(Banner, lines[42]);
        Assert.Equal(3, lines.Count(l => l == Banner));
    }

    [Fact]
    public void SkipZeroRecordsLeavesOutQuietIntervals()
    {
        using (OutputSink sink = OutputSink.AppendTo(LogFile))
        {
            var renderer = new LogRenderer(sink, new CsvLogFormat(), skipZeroRecords: true);
            renderer.Start(Snapshot);
            Interval(0, 0);
            renderer.Render(Snapshot);
            Interval(2, 0);
            renderer.Render(Snapshot);
        }
        Assert.Equal(["timestamp,kvm_exit,kvm_exit(HLT),kvm_pio", "2026-11-27 09:05:03,0,0,2"], File.ReadAllLines(LogFile));
    }

    /// <summary>A gauge (a latency percentile, pages in use) is logged as its value, a counter as its change: a p50 going from 25 to 20 is 20, never -5.</summary>
    [Fact]
    public void LogsGiveAGaugesValueAndACountersChange()
    {
        var source = new FakeSource(FakeSource.Counter("kvm_pio"), FakeSource.Gauge("user_exit_p50_us"));
        using Sampler sampler = Samplers.Of(_time, [source]);
        sampler.Sample();
        string csvFile = LogFile + ".csv";
        using (OutputSink plainSink = OutputSink.AppendTo(LogFile))
        using (OutputSink csvSink = OutputSink.AppendTo(csvFile))
        {
            var plain = new LogRenderer(plainSink, new PlainLogFormat(), skipZeroRecords: false);
            var csv = new LogRenderer(csvSink, new CsvLogFormat(), skipZeroRecords: false);
            plain.Start(sampler.Snapshot);
            csv.Start(sampler.Snapshot);
            foreach ((long pio, long p50) in new[] { (10L, 25L), (15L, 20L), (15L, 20L) })
            {
                source.Set("kvm_pio", pio);
                source.Set("user_exit_p50_us", p50);
                sampler.Sample();
                plain.Render(sampler.Snapshot);
                csv.Render(sampler.Snapshot);
            }
        }
        Assert.Equal(
            ["kvm_pio user_exit_p50_us ", "2026-11-27 09:05:03        10        25", "2026-11-27 09:05:03         5        20", "2026-11-27 09:05:03         0        20"],
            File.ReadAllLines(LogFile));
        Assert.Equal(
            ["timestamp,kvm_pio,user_exit_p50_us", "2026-11-27 09:05:03,10,25", "2026-11-27 09:05:03,5,20", "2026-11-27 09:05:03,0,20"],
            File.ReadAllLines(csvFile));
    }

    /// <summary>Records appended under another run's header (other fields, or a plain log) would be misnamed by it: said, and appended as the reference does.</summary>
    [Theory]
    [InlineData("timestamp,kvm_exit,kvm_pio\n2026-11-26 00:00:00,1,1\n", "timestamp,kvm_exit,kvm_pio")]
    [InlineData(" kvm_exit kvm_pio\n", " kvm_exit kvm_pio")]
    public void CsvRecordsAppendedUnderAnotherHeaderAreSaid(string existing, string header)
    {
        File.WriteAllText(LogFile, existing);
        var warnings = new List<string>();
        using (OutputSink sink = OutputSink.AppendTo(LogFile))
        {
            var renderer = new LogRenderer(sink, new CsvLogFormat(), skipZeroRecords: false, warnings.Add);
            renderer.Start(Snapshot);
            Interval(5, 1);
            renderer.Render(Snapshot);
        }
        Assert.Equal([$"log file \"{LogFile}\" begins with another header than these records' (\"{header}\"): its columns do not name them. " +
            "Give -L another file for these fields, or the -f of the run that began it."], warnings);
        Assert.Equal("2026-11-27 09:05:03,1,0,5", File.ReadAllLines(LogFile)[^1]);
    }

    [Fact]
    public void CsvHeaderGoesOnlyIntoAnEmptyFileAndAgainAfterRotation()
    {
        File.WriteAllText(LogFile, "timestamp,kvm_exit,kvm_exit(HLT),kvm_pio\n2026-11-26 00:00:00,1,0,1\n");
        using (OutputSink sink = OutputSink.AppendTo(LogFile))
        {
            var warnings = new List<string>();
            var renderer = new LogRenderer(sink, new CsvLogFormat(), skipZeroRecords: false, warnings.Add);
            renderer.Start(Snapshot);
            Assert.Empty(warnings);
            Interval(5, 1);
            renderer.Render(Snapshot);

            // logrotate renames the file away, then sends SIGHUP.
            File.Move(LogFile, LogFile + ".1");
            sink.Reopen();
            renderer.Reopened(Snapshot);
            Interval(6, 0);
            renderer.Render(Snapshot);
        }
        Assert.Equal(3, File.ReadAllLines(LogFile + ".1").Length);
        Assert.Equal("2026-11-27 09:05:03,1,0,5", File.ReadAllLines(LogFile + ".1")[^1]);
        Assert.Equal(["timestamp,kvm_exit,kvm_exit(HLT),kvm_pio", "2026-11-27 09:05:03,0,0,6"], File.ReadAllLines(LogFile));
    }

    [Fact]
    public void RenderingALogRecordDoesNotAllocate()
    {
        using OutputSink sink = OutputSink.AppendTo(LogFile);
        var renderer = new LogRenderer(sink, new PlainLogFormat(), skipZeroRecords: false);
        renderer.Start(Snapshot);
        Interval(1, 1);
        renderer.Render(Snapshot);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            _sampler.Sample();
            renderer.Render(Snapshot);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AnUnopenableLogFileIsAPlainError()
    {
        EnvironmentException e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(Path.Join(_folder, "missing", "log")));
        Assert.Contains("cannot open log file", e.Message);
        Assert.Contains("No such file or directory", e.Message);
    }
}
