using System.Diagnostics;
using System.Globalization;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// kvm_stat -1 around one run of a test guest, with a result that does not depend on scheduling.
/// The guest runs only after the tool reports its baseline ("counting started"), and the tool's
/// second sample comes no earlier than its own start plus the window: a run that ended before
/// that moment lies wholly inside the interval, so every exit it made is in the numbers. When a
/// busy host delays the run past it, the sample proves nothing and is taken again with a longer
/// window (1 s, the default, then 4, 16 and 25.5 s).
/// </summary>
internal static class BatchWindow
{
    private static readonly double[] s_windows = [1.0, 4.0, 16.0, 25.5];

    internal sealed record Result(string Output, string Error, double Seconds);

    /// <param name="arguments">The tool's arguments besides -1, -s and --verbose.</param>
    internal static Result AroundOneRun(GuestVm guest, params string[] arguments)
    {
        foreach (double window in s_windows)
        {
            // The first try leaves -s out: -1 alone must count for one second.
            string[] delay = window == 1.0 ? [] : ["-s", window.ToString(CultureInfo.InvariantCulture)];
            long toolStarted = Stopwatch.GetTimestamp();
            using ChildProcess tool = ChildProcess.StartTool(["-1", "--verbose", .. delay, .. arguments]);
            tool.WaitUntilCounting();
            (_, long runEnded) = guest.Run();
            Assert.Equal(0, tool.WaitForExit(TimeSpan.FromSeconds(window + 60)));
            if (runEnded < toolStarted + (long)(window * Stopwatch.Frequency))
                return new Result(tool.Output.Text, tool.Error.Text, window);
        }
        throw new TimeoutException("the host was too busy for the guest to run within 25.5 s of the tool's start");
    }
}
