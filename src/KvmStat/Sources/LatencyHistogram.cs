namespace KvmStat.Sources;

/// <summary>
/// One exit reason's latencies: how many exits fell in each log2 bucket of nanoseconds, and the
/// exact time they took together (the kernel adds each exit's nanoseconds beside its bucket's count).
/// Cumulative; the capture also keeps what it held at the capture before, so the last interval is
/// the sampler's, the same for every output that shows one.
/// </summary>
/// <param name="buckets">How many log2 buckets, the last open: a VM's reach 2^63 ns, a vCPU thread's 2^33 (<see cref="Bpf.BpfTableLayout.ThreadLatencyBuckets"/>).</param>
internal sealed class LatencyHistogram(int buckets = ExitLatencies.Buckets)
{
    internal ulong[] Buckets { get; } = new ulong[buckets];

    /// <summary>What this histogram held at the capture before the last (null: it is new since).</summary>
    private LatencyHistogram? _before;

    internal ulong Nanoseconds { get; set; }

    internal ulong Count
    {
        get
        {
            ulong count = 0;
            foreach (ulong bucket in Buckets)
                count += bucket;
            return count;
        }
    }

    /// <summary>
    /// Adds what this histogram gained since <paramref name="before"/> to <paramref name="into"/>, and
    /// returns those exits and their nanoseconds. One that went down anywhere started again (its
    /// process's slot was given back): all of it is new.
    /// </summary>
    private ulong GainedSince(LatencyHistogram? before, Span<ulong> into, out ulong nanoseconds)
    {
        bool restarted = before is null || Nanoseconds < before.Nanoseconds;
        for (int b = 0; b < Buckets.Length && !restarted; b++)
            restarted = Buckets[b] < before!.Buckets[b];
        ulong exits = 0;
        for (int b = 0; b < Buckets.Length; b++)
        {
            ulong gained = Buckets[b] - (restarted ? 0 : before!.Buckets[b]);
            into[b] += gained;
            exits += gained;
        }
        nanoseconds = Nanoseconds - (restarted ? 0 : before!.Nanoseconds);
        return exits;
    }

    /// <summary>
    /// Adds what the last interval gained (from the capture before to the last) to
    /// <paramref name="into"/>, and returns those exits and their nanoseconds.
    /// </summary>
    internal ulong LastInterval(Span<ulong> into, out ulong nanoseconds) => GainedSince(_before, into, out nanoseconds);

    /// <summary>
    /// A capture is about to refill this histogram: what it holds now is where the next interval
    /// starts. The capture calls it once per sample, before it clears and refills.
    /// </summary>
    internal void StartCapture() => CopyTo(_before ??= new LatencyHistogram(Buckets.Length));

    internal void Clear()
    {
        Array.Clear(Buckets);
        Nanoseconds = 0;
    }

    internal void Add(LatencyHistogram other)
    {
        for (int i = 0; i < Buckets.Length; i++)
            Buckets[i] += other.Buckets[i];
        Nanoseconds += other.Nanoseconds;
    }

    internal void CopyTo(LatencyHistogram into)
    {
        Buckets.CopyTo(into.Buckets, 0);
        into.Nanoseconds = Nanoseconds;
    }
}
