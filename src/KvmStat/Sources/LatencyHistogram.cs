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

    /// <summary>
    /// Adds what this histogram gained since <paramref name="before"/> to <paramref name="into"/>, and
    /// returns those exits and their nanoseconds. One that went down anywhere started again (its
    /// process's slot was given back): all of it is new. Every output's interval is this one.
    /// </summary>
    internal ulong GainedSince(LatencyHistogram? before, Span<ulong> into, out ulong nanoseconds)
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
