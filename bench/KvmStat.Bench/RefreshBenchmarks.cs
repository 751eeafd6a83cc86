using BenchmarkDotNet.Attributes;
using KvmStat.Cli;
using KvmStat.Host;
using KvmStat.Output;
using KvmStat.Stats;

namespace KvmStat.Bench;

/// <summary>
/// One refresh of the log mode as the tool builds it (the same command line, session and
/// sampler), with each tracepoint engine: sample every source, then format a record to
/// /dev/null. The refresh should allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class RefreshBenchmarks
{
    private Session _session = null!;
    private Sampler _sampler = null!;
    private OutputSink _sink = null!;
    private IStatsRenderer _plain = null!;
    private IStatsRenderer _csv = null!;

    [Params("perf", "bpf")]
    public string Engine { get; set; } = "perf";

    [GlobalSetup]
    public void Setup()
    {
        Options options = Cli.CommandLine.ToOptions(Cli.CommandLine.Build().Parse(["-l", "--engine", Engine]));
        _session = Session.Resolve(options, new HostPaths(), new Reporter(verbose: false, TextWriter.Null), TimeProvider.System);
        _sampler = _session.OpenSampler();
        _sink = OutputSink.AppendTo("/dev/null");
        _plain = new LogRenderer(_sink, new PlainLogFormat(), skipZeroRecords: false);
        _csv = new LogRenderer(_sink, new CsvLogFormat(), skipZeroRecords: false);
        _plain.Start(_sampler.Snapshot);
        _csv.Start(_sampler.Snapshot);
        _sampler.Sample();
    }

    [Benchmark(Description = "sample")]
    public void Sample() => _sampler.Sample();

    [Benchmark(Description = "sample + plain log record")]
    public void SampleAndPlainRecord()
    {
        _sampler.Sample();
        _plain.Render(_sampler.Snapshot);
    }

    [Benchmark(Description = "sample + CSV log record")]
    public void SampleAndCsvRecord()
    {
        _sampler.Sample();
        _csv.Render(_sampler.Snapshot);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sink.Dispose();
        _session.Dispose();
    }
}
