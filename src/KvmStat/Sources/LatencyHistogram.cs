namespace KvmStat.Sources;

/// <summary>
/// One exit reason's latencies: how many exits fell in each log2 bucket of nanoseconds, and the
/// exact time they took together (the kernel adds each exit's nanoseconds beside its bucket's count).
/// </summary>
internal sealed class LatencyHistogram
{
    internal ulong[] Buckets { get; } = new ulong[ExitLatencies.Buckets];

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
