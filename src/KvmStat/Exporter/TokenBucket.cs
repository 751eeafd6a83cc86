namespace KvmStat.Exporter;

/// <summary>
/// rate_limit of a web configuration, as the exporter-toolkit applies it (Go's rate.Limiter): one
/// token every <see cref="Interval"/>, at most <see cref="Burst"/> kept, the bucket full at start;
/// a request that finds no token is answered 429 before anything else is done for it.
/// </summary>
internal sealed class TokenBucket(TimeSpan interval, int burst, TimeProvider time)
{
    private readonly object _lock = new();
    private double _tokens = burst;
    private long _at = time.GetTimestamp();

    internal TimeSpan Interval => interval;

    internal int Burst => burst;

    /// <summary>Takes a token if there is one.</summary>
    internal bool TryTake()
    {
        lock (_lock)
        {
            long now = time.GetTimestamp();
            _tokens = Math.Min(burst, _tokens + time.GetElapsedTime(_at, now) / interval);
            _at = now;
            if (_tokens < 1)
                return false;
            _tokens -= 1;
            return true;
        }
    }
}
