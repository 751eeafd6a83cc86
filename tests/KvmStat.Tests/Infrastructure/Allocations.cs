namespace KvmStat.Tests.Infrastructure;

/// <summary>What a step of the refresh loop allocates once it runs.</summary>
internal static class Allocations
{
    /// <summary>Whether coverlet instrumented the tool: it adds its hit tracker to the assembly.</summary>
    private static readonly Lazy<bool> s_instrumented = new(() =>
        typeof(KvmStat.Text).Assembly.GetTypes().Any(t => t.Namespace?.StartsWith("Coverlet.Core.Instrumentation", StringComparison.Ordinal) == true));

    internal static bool Instrumented => s_instrumented.Value;

    /// <summary>Bytes <paramref name="step"/> allocates over <paramref name="rounds"/> runs, after <paramref name="warmUp"/> runs (the JIT's tiers allocate at first).</summary>
    internal static long InSteadyState(Action step, int warmUp = 1000, int rounds = 100)
    {
        Assert.SkipWhen(s_instrumented.Value, "the tool is instrumented for coverage (bench/mutation.sh), whose hit counting allocates: allocations are measured uninstrumented");
        for (int i = 0; i < warmUp; i++)
            step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < rounds; i++)
            step();
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }
}
