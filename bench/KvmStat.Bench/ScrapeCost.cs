using System.Diagnostics;
using System.Globalization;
using KvmStat.Exporter;
using KvmStat.Sources;
using KvmStat.Stats;

namespace KvmStat.Bench;

/// <summary>
/// "scrape [VMS [FIELDS [ROUNDS [REASONS]]]]": what the exporter spends on a scrape of a dense host
/// once it has sampled: the snapshot turned into metric families (<see cref="MetricsFormatter"/>)
/// and written as text (<see cref="MetricsWriter"/>), for VMS guests that each raised FIELDS
/// tracepoints (every one a series) and, as with --latency, timed exits of REASONS kinds (each a
/// histogram), rounds of a second's new counts in between. Prints the median, the spread, the body
/// size and the memory the process peaked at.
/// </summary>
internal static class ScrapeCost
{
    /// <summary>Each VM's counters, growing by its pid's share at every read.</summary>
    private sealed class DenseVms(int vms, StatField[] fields) : IPerVmSource
    {
        private long _reads;

        public IReadOnlyList<StatField> Fields => fields;

        public void Read(List<VmReading> readings)
        {
            readings.Clear();
            _reads++;
            for (int vm = 0; vm < vms; vm++)
            {
                var reading = new VmReading(10_000 + vm, fields.Length);
                for (int i = 0; i < fields.Length; i++)
                    reading.Values[i] = _reads * (vm % 10 + i + 1);
                readings.Add(reading);
            }
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Each VM's latency histograms: <paramref name="reasons"/> kinds of exit to user space, spread over 8 buckets about 10-100 us.</summary>
    private static ExitLatencies Latencies(int vms, int reasons)
    {
        StatField parent = new("kvm_userspace_exit", null, StatKind.Counter, FieldOrigin.Tracepoint);
        StatField[] fields = [parent, .. Enumerable.Range(0, reasons).Select(r => new StatField($"kvm_userspace_exit(R{r:D2})", parent.Name, StatKind.Counter, FieldOrigin.Tracepoint))];
        var latencies = new ExitLatencies(new FieldSet(fields), "ioctl(KVM_RUN)");
        for (int vm = 0; vm < vms; vm++)
        {
            var histograms = new Dictionary<int, LatencyHistogram>();
            for (int r = 1; r <= reasons; r++)
            {
                var histogram = new LatencyHistogram();
                for (int b = 13; b < 21; b++)
                    histogram.Buckets[b] = (ulong)(vm + r + b);
                histogram.Nanoseconds = 1_000_000UL * (ulong)(vm + r);
                histograms[r] = histogram;
            }
            latencies.Vms[10_000 + vm] = histograms;
        }
        return latencies;
    }

    internal static int Run(int vms, int fieldCount, int rounds, int reasons)
    {
        StatField[] fields = [.. Enumerable.Range(0, fieldCount).Select(i => new StatField($"kvm_event_{i:D3}", null, StatKind.Counter, FieldOrigin.Tracepoint))];
        var sources = new SamplingSources { PerVm = new DenseVms(vms, fields), Latencies = reasons > 0 ? Latencies(vms, reasons) : null };
        using var sampler = new Sampler(sources, null, pid => $"guest-{pid}", TimeProvider.System);
        var formatter = new MetricsFormatter(FieldFilter.Default, _ => { });
        var writer = new MetricsWriter(openMetrics: false);
        var format = new List<double>();
        var write = new List<double>();
        var allocated = new List<double>();
        int bytes = 0;
        sampler.Sample();
        for (int round = 0; round <= rounds; round++)
        {
            sampler.Sample();
            long before = GC.GetAllocatedBytesForCurrentThread();
            long started = Stopwatch.GetTimestamp();
            List<MetricFamily> families = formatter.Format(sampler.Snapshot);
            long formatted = Stopwatch.GetTimestamp();
            // As the exporter sends it: UTF-8 in the writer's buffer.
            bytes = writer.WriteUtf8(families).Length;
            long written = Stopwatch.GetTimestamp();
            long after = GC.GetAllocatedBytesForCurrentThread();
            // The first round is the one a fresh exporter answers: reported apart.
            if (round == 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"first scrape: format {Stopwatch.GetElapsedTime(started, formatted).TotalMilliseconds:F0} ms, write {Stopwatch.GetElapsedTime(formatted, written).TotalMilliseconds:F0} ms"));
                continue;
            }
            format.Add(Stopwatch.GetElapsedTime(started, formatted).TotalMilliseconds);
            allocated.Add((after - before) / 1e6);
            write.Add(Stopwatch.GetElapsedTime(formatted, written).TotalMilliseconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{vms} VMs x {fieldCount} fields{(reasons > 0 ? $" + {reasons} exit histograms" : "")}: {bytes / 1e6:F1} MB; format {Summary(format)}, write {Summary(write)}, allocated {Summary(allocated, "MB")} ({rounds} rounds); working set {Environment.WorkingSet / 1e6:F0} MB now, {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB at most"));
        return 0;
    }

    private static string Summary(List<double> values, string unit = "ms")
    {
        values.Sort();
        return string.Create(CultureInfo.InvariantCulture, $"median {values[values.Count / 2]:F0} {unit} [{values[0]:F0}, {values[^1]:F0}]");
    }
}
