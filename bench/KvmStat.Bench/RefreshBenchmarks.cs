using BenchmarkDotNet.Attributes;
using KvmStat.Output;
using KvmStat.Sources;
using KvmStat.Sources.Tracing;
using KvmStat.Stats;
using KvmStat.Host;

namespace KvmStat.Bench;

/// <summary>
/// One refresh of the log mode over real perf counters: a read() per CPU group, totals and
/// deltas, and a formatted record written to /dev/null. It should allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class RefreshBenchmarks
{
    private StatsCollector _stats = null!;
    private LogRenderer _plain = null!;
    private LogRenderer _csv = null!;
    private OutputSink _sink = null!;
    private readonly DateTime _now = DateTime.Now;

    [GlobalSetup]
    public void Setup()
    {
        var paths = new HostPaths();
        Tracefs tracefs = Tracefs.Locate(paths);
        IReadOnlyList<TracepointField> fields = FieldFilter.Default.Select(
            TracepointCatalog.Discover(tracefs, ExitReasonSetDetector.Detect(paths)), f => f.Name, f => f.Parent);
        var set = new TracepointCounterSet(tracefs, fields, verbose: null);
        IStatsSource source = TracepointSource.ForAllCpus(set, OnlineCpus.Read(paths));
        _stats = new StatsCollector([source]);
        _stats.Sample();
        _sink = OutputSink.AppendTo("/dev/null");
        _plain = new LogRenderer(_sink, new PlainLogFormat(), skipZeroRecords: false);
        _csv = new LogRenderer(_sink, new CsvLogFormat(), skipZeroRecords: false);
    }

    [Benchmark(Description = "sample (read all CPU groups, totals, deltas)")]
    public void Sample() => _stats.Sample();

    [Benchmark(Description = "sample + plain log record")]
    public void SampleAndPlainRecord()
    {
        _stats.Sample();
        _plain.Render(_stats, _now);
    }

    [Benchmark(Description = "sample + CSV log record")]
    public void SampleAndCsvRecord()
    {
        _stats.Sample();
        _csv.Render(_stats, _now);
    }

    [GlobalCleanup]
    public void Cleanup() => _sink.Dispose();
}
