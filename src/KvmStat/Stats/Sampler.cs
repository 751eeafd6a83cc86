using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// The one sampling path: reads every source of a run once per call, host fields first and then
/// each VM's, into the <see cref="Snapshot"/> the outputs format. The mode decides when.
/// </summary>
internal sealed class Sampler : IDisposable
{
    private readonly StatsCollector _host;
    private readonly GuestStats? _guests;
    private readonly TimeProvider _time;
    private readonly ICapture? _capture;

    /// <param name="capture">The reading the sources share (the BPF engine's), taken first at each sample.</param>
    internal Sampler(StatsCollector host, GuestStats? guests, WatchedVm? vm, TimeProvider time, ICapture? capture = null)
    {
        _capture = capture;
        _host = host;
        _guests = guests;
        _time = time;
        Snapshot = new Snapshot(host, guests, vm);
    }

    internal Snapshot Snapshot { get; }

    internal void Sample()
    {
        _capture?.Capture();
        _host.Sample();
        _guests?.Sample();
        Snapshot.Time = _time.GetLocalNow();
    }

    /// <summary>Starts the counters' totals again from zero (the screen's 'r').</summary>
    internal void ResetTotals() => _host.ResetTotals();

    public void Dispose()
    {
        _host.Dispose();
        _guests?.Dispose();
    }
}
