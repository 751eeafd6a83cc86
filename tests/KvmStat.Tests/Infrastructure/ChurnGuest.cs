namespace KvmStat.Tests.Infrastructure;

/// <summary>The C test guest (tests/guest/guest.c, built beside the tests): many short-lived VM processes.</summary>
internal static class ChurnGuest
{
    internal static string Path => System.IO.Path.Join(AppContext.BaseDirectory, "guest");

    /// <summary>
    /// <paramref name="count"/> VM processes, one after the other: each makes a VM of
    /// <paramref name="vcpus"/> vCPUs, has each make <paramref name="outs"/> port writes, and exits.
    /// </summary>
    internal static void Run(int count, int vcpus, int outs)
    {
        using ChildProcess churn = ChildProcess.Start(Path,
            ["-name", "churn", "--churn", $"{count}", "--vcpus", $"{vcpus}", "--outs", $"{outs}"]);
        int code = churn.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"the churn guest failed: {string.Join('\n', churn.Error.Lines)}");
        Assert.Equal($"churned {count}", Assert.Single(churn.Output.Lines));
    }
}
