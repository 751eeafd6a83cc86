namespace KvmStat.Tests.Infrastructure;

/// <summary>What a step of the refresh loop allocates once it runs.</summary>
internal static class Allocations
{
    /// <summary>Whether coverlet instrumented the tool: it adds its hit tracker to the assembly.</summary>
    private static readonly Lazy<bool> s_instrumented = new(() =>
        typeof(KvmStat.Text).Assembly.GetTypes().Any(t => t.Namespace?.StartsWith("Coverlet.Core.Instrumentation", StringComparison.Ordinal) == true));

    internal static bool Instrumented => s_instrumented.Value;

    /// <summary>
    /// Bytes <paramref name="step"/> allocates over <paramref name="rounds"/> runs, after
    /// <paramref name="warmUp"/> runs (the JIT's tiers allocate at first). A step that allocates
    /// does so in every measure; the runtime's own work done once (code of a higher tier installed
    /// late on a loaded machine, which allocated 4,800 bytes once in a whole run of the tests) is
    /// in one at most: the least of three measures is the step's.
    /// </summary>
    internal static long InSteadyState(Action step, int warmUp = 1000, int rounds = 100)
    {
        Assert.SkipWhen(s_instrumented.Value, "the tool is instrumented for coverage (bench/mutation.sh), whose hit counting allocates: allocations are measured uninstrumented");
        for (int i = 0; i < warmUp; i++)
            step();
        long least = long.MaxValue;
        for (int measure = 0; measure < 3 && least > 0; measure++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < rounds; i++)
                step();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
