using System.Diagnostics;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// Waits for a condition that nothing signals (a descriptor closed on another thread, a child's
/// view of its descriptors, a rescan a scrape makes happen): looks at it every few milliseconds
/// until it holds, and fails naming what never happened.
/// </summary>
internal static class Poll
{
    private static readonly TimeSpan s_every = TimeSpan.FromMilliseconds(10);

    internal static void Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"{what} did not happen within {timeout.TotalSeconds} s");
            Thread.Sleep(s_every);
        }
    }

    internal static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"{what} did not happen within {timeout.TotalSeconds} s");
            await Task.Delay(s_every, TestContext.Current.CancellationToken);
        }
    }
}
