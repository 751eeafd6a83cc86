namespace KvmStat.Tests.Infrastructure;

/// <summary>What a step of the refresh loop allocates once it runs.</summary>
internal static class Allocations
{
    /// <summary>Bytes <paramref name="step"/> allocates over <paramref name="rounds"/> runs, after <paramref name="warmUp"/> runs (the JIT's tiers allocate at first).</summary>
    internal static long InSteadyState(Action step, int warmUp = 1000, int rounds = 100)
    {
        for (int i = 0; i < warmUp; i++)
            step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < rounds; i++)
            step();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
