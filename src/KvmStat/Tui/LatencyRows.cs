using KvmStat.Sources;

namespace KvmStat.Tui;

/// <summary>
/// What the latency view ('l') shows, worked out once per refresh from the cumulative histograms
/// of one VM or of the host, against those of the refresh before: per exit reason over the last
/// interval, exits per second, p50/p90/p99 and the share of the time exits kept vCPUs out of their
/// guests; and the same for every reason together. Rows by share of time, the largest first.
/// </summary>
internal sealed class LatencyRows
{
    internal readonly record struct Row(int Field, double ExitsPerSecond, double P50, double P90, double P99, double Share);

    private readonly Dictionary<int, LatencyHistogram> _previous = [];
    private readonly ulong[] _interval = new ulong[ExitLatencies.Buckets];
    private readonly ulong[] _all = new ulong[ExitLatencies.Buckets];
    private readonly List<Row> _rows = [];
    private readonly List<ulong> _nanoseconds = [];
    private readonly Comparison<Row> _byShare = (a, b) => b.Share != a.Share ? b.Share.CompareTo(a.Share) : a.Field.CompareTo(b.Field);
    private Dictionary<int, LatencyHistogram>? _from;

    /// <summary>The reasons with exits in the last interval.</summary>
    internal IReadOnlyList<Row> Rows => _rows;

    /// <summary>Every reason together (its share is 1 when any exit was timed).</summary>
    internal Row All { get; private set; }

    /// <summary>vCPU time exits took in the last interval, in seconds per second (1: one whole vCPU).</summary>
    internal double VcpuShare { get; private set; }

    /// <summary>Compares <paramref name="histograms"/> (null: none measured) with what the last update saw.</summary>
    internal void Update(Dictionary<int, LatencyHistogram>? histograms, double seconds)
    {
        _rows.Clear();
        _nanoseconds.Clear();
        Array.Clear(_all);
        All = default;
        VcpuShare = 0;
        // Another VM's or another sampler's histograms: the interval starts now.
        if (!ReferenceEquals(histograms, _from))
            _previous.Clear();
        _from = histograms;
        if (histograms is null || seconds <= 0)
            return;
        ulong totalNanoseconds = 0, totalExits = 0;
        foreach ((int field, LatencyHistogram histogram) in histograms)
        {
            ulong exits = Interval(field, histogram, out ulong nanoseconds);
            if (exits == 0)
                continue;
            totalExits += exits;
            totalNanoseconds += nanoseconds;
            for (int b = 0; b < _interval.Length; b++)
                _all[b] += _interval[b];
            _rows.Add(new Row(field, exits / seconds, Microseconds(_interval, 0), Microseconds(_interval, 1), Microseconds(_interval, 2), 0));
            _nanoseconds.Add(nanoseconds);
        }
        for (int r = 0; r < _rows.Count; r++)
            _rows[r] = _rows[r] with { Share = totalNanoseconds > 0 ? (double)_nanoseconds[r] / totalNanoseconds : 0 };
        _rows.Sort(_byShare);
        if (totalExits > 0)
            All = new Row(-1, totalExits / seconds, Microseconds(_all, 0), Microseconds(_all, 1), Microseconds(_all, 2), 1);
        VcpuShare = totalNanoseconds / 1e9 / seconds;
    }

    /// <summary>One reason's exits since the last update, into the interval buffer; the histogram is kept for the next.</summary>
    private ulong Interval(int field, LatencyHistogram histogram, out ulong nanoseconds)
    {
        if (!_previous.TryGetValue(field, out LatencyHistogram? previous))
            _previous[field] = previous = new LatencyHistogram();
        Array.Clear(_interval);
        ulong exits = histogram.GainedSince(previous, _interval, out nanoseconds);
        histogram.CopyTo(previous);
        return exits;
    }

    /// <summary>The <paramref name="percentile"/>th of <see cref="Percentiles.Shown"/>, in microseconds.</summary>
    private static double Microseconds(ReadOnlySpan<ulong> buckets, int percentile) => ExitLatencies.Percentile(buckets, Percentiles.Shown[percentile].Fraction) / 1000;
}
