using System.Runtime.InteropServices;

namespace KvmStat.Exporter;

/// <summary>How long an exposition will be, so that its buffer is made once: growing one of tens of megabytes copies it and leaves the old one as garbage.</summary>
internal sealed partial class MetricsWriter
{
    /// <summary>
    /// About the length in bytes of the exposition of <paramref name="families"/>: names, labels
    /// (values as long as they are written at most) and values as written; escapes aside (the
    /// room added covers them), and a little over for counters' _total.
    /// </summary>
    internal static long SizeOf(IReadOnlyList<MetricFamily> families)
    {
        long bytes = 16;
        var bounds = new Dictionary<string[], int>(ReferenceEqualityComparer.Instance);
        foreach (MetricFamily family in families)
        {
            int name = family.Name.Length;
            bytes += 2 * (name + 32) + family.Help.Length;
            foreach (MetricSample sample in family.Samples)
            {
                bytes += name + sample.Suffix.Length + LabelsLength(sample.Labels) + 2;
                bytes += sample.Le is string le ? le.Length + 6 : 0;
                bytes += sample.Value?.Length ?? Digits((ulong)Math.Abs(sample.Number)) + 1;
            }
            ReadOnlySpan<ulong> counts = CollectionsMarshal.AsSpan(family.HistogramCounts);
            foreach (HistogramSeries series in family.Histograms)
            {
                if (!bounds.TryGetValue(series.Bounds, out int written))
                    bounds[series.Bounds] = written = series.Bounds.Sum(b => b.Length) + "+Inf".Length;
                int labels = LabelsLength(series.Labels);
                int lines = series.Bounds.Length + 1;
                // Each bucket: name_bucket{labels,le="bound"} count; then _sum and _count.
                bytes += lines * (name + "_bucket".Length + labels + ",le=\"\"".Length + 2) + written;
                foreach (ulong count in counts.Slice(series.Offset, lines))
                    bytes += Digits(count);
                bytes += 2 * (name + "_count".Length + labels + 2) + series.Sum.Length + Digits(counts[series.Offset + lines - 1]);
            }
        }
        return bytes;
    }

    /// <summary>"{name="value",...}" at most (values cut at <see cref="MaxLabelValue"/>).</summary>
    private static int LabelsLength((string Name, string Value)[] labels)
    {
        int length = 2;
        foreach ((string labelName, string value) in labels)
            length += labelName.Length + Math.Min(value.Length, MaxLabelValue) + 4;
        return length;
    }

    private static int Digits(ulong value)
    {
        int digits = 1;
        for (; value >= 10; value /= 10)
            digits++;
        return digits;
    }
}
