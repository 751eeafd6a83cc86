namespace KvmStat.Stats;

internal static class Counts
{
    /// <summary>Whether anything happened: -z and the last partial log record look at the deltas this way.</summary>
    internal static bool AnyNonZero(ReadOnlySpan<long> values)
    {
        foreach (long value in values)
        {
            if (value != 0)
                return true;
        }
        return false;
    }
}
