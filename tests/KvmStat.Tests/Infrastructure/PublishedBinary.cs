namespace KvmStat.Tests.Infrastructure;

/// <summary>The NativeAOT binary that ./build.sh publishes: integration tests run what users run.</summary>
internal static class PublishedBinary
{
    internal static string Path { get; } = Locate();

    private static string Locate()
    {
        if (Environment.GetEnvironmentVariable("KVM_STAT_BINARY") is { Length: > 0 } configured)
            return configured;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = System.IO.Path.Join(dir.FullName, "artifacts", "kvm_stat");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new InvalidOperationException("artifacts/kvm_stat not found: run ./build.sh first (./test.sh does).");
    }

    /// <summary>The test executable, which also runs the test guest.</summary>
    internal static string TestExecutable => System.IO.Path.Join(AppContext.BaseDirectory, "KvmStat.Tests");
}
