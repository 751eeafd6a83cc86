namespace KvmStat.Exporter;

/// <summary>One metric family of a sample: name, type ("counter", "gauge", "histogram"), help, and its samples.</summary>
internal sealed class MetricFamily(string name, string type, string help)
{
    internal string Name { get; } = name;

    internal string Type { get; } = type;

    internal string Help { get; } = help;

    internal List<MetricSample> Samples { get; } = [];

    /// <summary>A histogram family's series given whole (<see cref="Histogram"/>), written after its samples.</summary>
    internal List<HistogramSeries> Histograms { get; } = [];

    /// <summary>The cumulative counts of <see cref="Histograms"/>, each series' from its offset.</summary>
    internal List<ulong> HistogramCounts { get; } = [];

    /// <summary>
    /// A histogram series from its buckets (counts per bucket, not cumulative): bucket
    /// <paramref name="firstBound"/> + i is written under <paramref name="bounds"/>[i], the later
    /// ones only in +Inf and _count; the counts are copied.
    /// </summary>
    internal void Histogram((string Name, string Value)[] labels, string[] bounds, ReadOnlySpan<ulong> buckets, int firstBound, string sum)
    {
        int offset = HistogramCounts.Count;
        ulong cumulative = 0;
        int next = 0;
        for (int b = 0; b < bounds.Length; b++)
        {
            for (; next <= firstBound + b && next < buckets.Length; next++)
                cumulative += buckets[next];
            HistogramCounts.Add(cumulative);
        }
        for (; next < buckets.Length; next++)
            cumulative += buckets[next];
        HistogramCounts.Add(cumulative);
        Histograms.Add(new HistogramSeries(labels, bounds, offset, sum));
    }

    /// <summary>A counter's sample: the text format adds "_total" to the name.</summary>
    internal void Counter((string Name, string Value)[] labels, long value) =>
        Samples.Add(new MetricSample("_total", labels, null) { Number = value });

    internal void Gauge((string Name, string Value)[] labels, long value) =>
        Samples.Add(new MetricSample("", labels, null) { Number = value });

    /// <summary>A sample of a whole number under <paramref name="suffix"/> (a histogram's _count).</summary>
    internal void Add(string suffix, (string Name, string Value)[] labels, long value) =>
        Samples.Add(new MetricSample(suffix, labels, null) { Number = value });

    internal void Add(string suffix, (string Name, string Value)[] labels, string value) =>
        Samples.Add(new MetricSample(suffix, labels, value));

    /// <summary>A histogram's bucket: its series' labels (shared by its buckets) and its upper bound.</summary>
    internal void Bucket((string Name, string Value)[] labels, string le, ulong cumulative) =>
        Samples.Add(new MetricSample("_bucket", labels, null, le) { Number = checked((long)cumulative) });
}
