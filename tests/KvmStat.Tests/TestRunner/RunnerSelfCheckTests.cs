namespace KvmStat.Tests.TestRunner;

/// <summary>
/// Fixtures for test.sh's check of itself (tests/check-test-sh.sh): each makes a test run go wrong in
/// one way, chosen by the KVM_STAT_SELFCHECK environment variable, so that the check can see
/// test.sh report it. Ordinary runs leave the category out; without the variable they skip.
/// </summary>
[Trait("Category", Category)]
public partial class RunnerSelfCheckTests
{
    [System.Runtime.InteropServices.LibraryImport("libc.so.6", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);

    public const string Category = "SelfCheck";
    private static string? Scenario => Environment.GetEnvironmentVariable("KVM_STAT_SELFCHECK");

    [Fact]
    public void PassesBeforeTheOthersGoWrong()
    {
        Assert.SkipWhen(Scenario is null, "runs only in test.sh's self-check");
        Assert.Equal("a/b", Path.Join("a", "b"));
    }

    [Fact]
    public void CrashesTheTestHost()
    {
        Assert.SkipUnless(Scenario == "crash", "runs only in test.sh's self-check (crash)");
        // Killed outright, as the kernel's OOM killer would: Environment.FailFast and abort(3) do the
        // same to the run but take a minute under the test host, which suspends its threads first.
        _ = Kill(Environment.ProcessId, 9);
    }

    [Fact]
    public void Hangs()
    {
        Assert.SkipUnless(Scenario == "hang", "runs only in test.sh's self-check (hang)");
        Thread.Sleep(Timeout.Infinite);
    }

    [Fact]
    public void SkipsLikeAKvmTestWithoutKvm()
    {
        Assert.SkipWhen(Scenario is null or "skip", "runs only in test.sh's self-check; skips in its KVM-skip case");
        Assert.Equal("a/b", Path.Join("a", "b"));
    }
}
