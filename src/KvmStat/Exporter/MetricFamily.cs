using System.Globalization;

namespace KvmStat.Exporter;

/// <summary>One metric family of a sample: name, type ("counter", "gauge", "histogram"), help, and its samples.</summary>
internal sealed class MetricFamily(string name, string type, string help)
{
    internal string Name { get; } = name;

    internal string Type { get; } = type;

    internal string Help { get; } = help;

    internal List<MetricSample> Samples { get; } = [];

    /// <summary>A counter's sample: the text format adds "_total" to the name.</summary>
    internal void Counter((string Name, string Value)[] labels, long value) =>
        Samples.Add(new MetricSample("_total", labels, value.ToString(CultureInfo.InvariantCulture)));

    internal void Gauge((string Name, string Value)[] labels, long value) =>
        Samples.Add(new MetricSample("", labels, value.ToString(CultureInfo.InvariantCulture)));

    internal void Add(string suffix, (string Name, string Value)[] labels, string value) =>
        Samples.Add(new MetricSample(suffix, labels, value));

    /// <summary>A histogram's bucket: its series' labels (shared by its buckets) and its upper bound.</summary>
    internal void Bucket((string Name, string Value)[] labels, string le, ulong cumulative) =>
        Samples.Add(new MetricSample("_bucket", labels, cumulative.ToString(CultureInfo.InvariantCulture), le));
}
