using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;

namespace KvmStat.Stats;

/// <summary>
/// Everything one <see cref="Sampler"/> reads, opened together (Cli.SourceFactory) and closed
/// together: the readings that are captured first each sample (the BPF engine's tables, the binary
/// statistics), the host's sources, the per-VM source, and the engines under them, closed after
/// their sources. A failure while opening closes whatever was opened: no program stays attached.
/// </summary>
internal sealed class SamplingSources : IDisposable
{
    /// <summary>Taken once per sample, in this order, before any source reads.</summary>
    internal List<ICapture> Captures { get; } = [];

    internal List<IStatsSource> Host { get; } = [];

    internal IPerVmSource? PerVm { get; set; }

    /// <summary>The binary statistics of every VM reached, read once per sample (QMP or held descriptors), or null.</summary>
    internal BinaryStatsCapture? Binary { get; set; }

    /// <summary>Exit latencies the engine measures (filled at its capture), or null.</summary>
    internal ExitLatencies? Latencies { get; set; }

    /// <summary>Sources that could not be opened, served as down with the reason (the exporter).</summary>
    internal List<SourceHealth> Unopened { get; } = [];

    /// <summary>What the tracepoint sources read from: closed after them.</summary>
    internal ITracepointEngine? Engine { get; set; }

    /// <summary>
    /// An engine whose tracepoints could not be opened (the exporter serves them as down): closed
    /// now, so nothing captures from it or counts per VM with it.
    /// </summary>
    internal void DropEngine()
    {
        if (Engine?.Capture is ICapture capture)
            Captures.Remove(capture);
        Engine?.Dispose();
        Engine = null;
    }

    /// <summary>Closes the sources, then what they read from, each once.</summary>
    public void Dispose()
    {
        IDisposable?[] owned = [.. Host, PerVm, Binary, Engine];
        Host.Clear();
        (PerVm, Binary, Engine) = (null, null, null);
        Captures.Clear();
        Disposables.DisposeEach(owned);
    }
}
