using KvmStat.Sources;

namespace KvmStat.Tui;

/// <summary>
/// What the latency view ('l') shows, worked out once per refresh from the last interval of the
/// histograms of one VM or of the host (the sampler's interval, as every output's): per exit reason, exits per second, p50/p90/p99 and the share of the time exits kept vCPUs out of their
/// guests; and the same for every reason together. Rows by share of time, the largest first.
/// </summary>
internal sealed class LatencyRows
{
    /// <param name="Mean">Microseconds an exit took on average: exact (the kernel adds each exit's time), where the percentiles are read from log2 buckets.</param>
    internal readonly record struct Row(int Field, double ExitsPerSecond, double Mean, double P50, double P90, double P99, double Share);

    private readonly ulong[] _interval = new ulong[ExitLatencies.Buckets];
    private readonly ulong[] _all = new ulong[ExitLatencies.Buckets];
    private readonly List<Row> _rows = [];
    private readonly List<ulong> _nanoseconds = [];
    private readonly Comparison<Row> _byShare = (a, b) => b.Share != a.Share ? b.Share.CompareTo(a.Share) : a.Field.CompareTo(b.Field);

    /// <summary>The reasons with exits in the last interval.</summary>
    internal IReadOnlyList<Row> Rows => _rows;

    /// <summary>Every reason together (its share is 1 when any exit was timed).</summary>
    internal Row All { get; private set; }

    /// <summary>vCPU time exits other than halts took in the last interval, in seconds per second (1: one whole vCPU).</summary>
    internal double VcpuShare { get; private set; }

    /// <summary>vCPU time halts took (a halted vCPU waits for work: idle, not slow), in seconds per second.</summary>
    internal double HaltShare { get; private set; }

    /// <summary>The last interval of <paramref name="histograms"/> (null: none measured), <paramref name="seconds"/> long, of <paramref name="latencies"/>' fields.</summary>
    internal void Update(ExitLatencies? latencies, Dictionary<int, LatencyHistogram>? histograms, double seconds)
    {
        _rows.Clear();
        _nanoseconds.Clear();
        Array.Clear(_all);
        All = default;
        VcpuShare = HaltShare = 0;
        if (latencies is null || histograms is null || seconds <= 0)
            return;
        ulong totalNanoseconds = 0, haltNanoseconds = 0, userExits = 0, kernelExits = 0;
        foreach ((int field, LatencyHistogram histogram) in histograms)
        {
            ulong exits = Interval(histogram, out ulong nanoseconds);
            if (exits == 0)
                continue;
            if (latencies.KindOf(field) == ExitLatencies.UserSpace)
                userExits += exits;
            else
                kernelExits += exits;
            totalNanoseconds += nanoseconds;
            if (IsHalt(latencies.Fields[field].ChildLabel))
                haltNanoseconds += nanoseconds;
            for (int b = 0; b < _interval.Length; b++)
                _all[b] += _interval[b];
            _rows.Add(new Row(field, exits / seconds, nanoseconds / 1000.0 / exits, Microseconds(_interval, 0, nanoseconds), Microseconds(_interval, 1, nanoseconds), Microseconds(_interval, 2, nanoseconds), 0));
            _nanoseconds.Add(nanoseconds);
        }
        for (int r = 0; r < _rows.Count; r++)
            _rows[r] = _rows[r] with { Share = totalNanoseconds > 0 ? (double)_nanoseconds[r] / totalNanoseconds : 0 };
        _rows.Sort(_byShare);
        // Where kvm_entry ends exits, one handed to user space is two parts (kvm_exit's reason in the
        // kernel, kvm_userspace_exit's in user space): every exit begins with kvm_exit, counted once.
        ulong totalExits = latencies.TimesTwoParts ? kernelExits : userExits + kernelExits;
        // The buckets hold parts, not exits, where an exit is two: no percentile of exits is known (NaN: shown blank).
        bool parts = latencies.TimesTwoParts && userExits > 0;
        if (totalExits > 0)
            All = new Row(-1, totalExits / seconds, totalNanoseconds / 1000.0 / totalExits, parts ? double.NaN : Microseconds(_all, 0, totalNanoseconds),
                parts ? double.NaN : Microseconds(_all, 1, totalNanoseconds), parts ? double.NaN : Microseconds(_all, 2, totalNanoseconds), 1);
        VcpuShare = (totalNanoseconds - haltNanoseconds) / 1e9 / seconds;
        HaltShare = haltNanoseconds / 1e9 / seconds;
    }

    /// <summary>A halt: HLT (x86, in the kernel or in user space), WFI/WFx (arm64).</summary>
    private static bool IsHalt(string? reason) => reason is "HLT" or "WFI" or "WFx";

    /// <summary>One reason's exits in the last interval, into the interval buffer.</summary>
    private ulong Interval(LatencyHistogram histogram, out ulong nanoseconds)
    {
        Array.Clear(_interval);
        return histogram.LastInterval(_interval, out nanoseconds);
    }

    /// <summary>The <paramref name="percentile"/>th of <see cref="Percentiles.Shown"/>, in microseconds.</summary>
    private static double Microseconds(ReadOnlySpan<ulong> buckets, int percentile, ulong nanoseconds) =>
        ExitLatencies.Percentile(buckets, Percentiles.Shown[percentile].Fraction, nanoseconds) / 1000;
}
