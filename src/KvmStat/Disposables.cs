using System.Runtime.ExceptionServices;

namespace KvmStat;

/// <summary>Closing what one owner holds together.</summary>
internal static class Disposables
{
    /// <summary>
    /// Disposes each in order, every one even when an earlier one throws (a source that fails to
    /// close must not leave the engine's programs attached), then throws the first failure. A later
    /// one is not thrown: what is closed here are sources and the engine's descriptors, whose close
    /// fails only where the first failure already ends the run with its cause (log files close
    /// through their sink, which says its own failure).
    /// </summary>
    internal static void DisposeEach(params ReadOnlySpan<IDisposable?> items)
    {
        ExceptionDispatchInfo? first = null;
        foreach (IDisposable? item in items)
        {
            try
            {
                item?.Dispose();
            }
            catch (Exception e)
            {
                first ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        first?.Throw();
    }
}
