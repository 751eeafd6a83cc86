using System.Runtime.InteropServices;
using KvmStat.Sources;
using KvmStat.Sources.BinaryStats;
using KvmStat.Stats;

namespace KvmStat.Exporter;

/// <summary>
/// What the exporter serves: the run's one <see cref="Sampler"/>, sampled when scraped (at most
/// twice a second, however many scrapers ask), its snapshot formatted into metric families by
/// <see cref="MetricsFormatter"/>, and the exporter's own metrics.
/// </summary>
internal sealed class MetricsSampler : IDisposable
{
    private static readonly TimeSpan s_reuse = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_follow = TimeSpan.FromSeconds(1);

    private readonly object _lock = new();
    private readonly Sampler _sampler;
    private readonly TimeProvider _time;
    private readonly MetricsFormatter _formatter;
    private readonly ITimer? _follower;
    private readonly ExporterIdentity? _self;
    private readonly Action<string> _warn;
    private string? _followFailure;
    private long _sampledAt;
    private IReadOnlyList<MetricFamily> _families = [];

    /// <param name="followVms">
    /// Follow VMs every second between scrapes: per-thread counters count a VM only from when they
    /// are opened, and a scrape interval of a minute would otherwise lose its first minute; the BPF
    /// engine gives back the slots of exited VMs, which would otherwise wait for the next scrape.
    /// Binary statistics count from each VM's start, and a QMP query each second would interrupt
    /// the vCPUs of a QEMU older than 8.1: they are read only when scraped.
    /// </param>
    /// <param name="self">What the exporter's own metrics name (its version and engine); none without it.</param>
    /// <param name="guestFilter">The fields that get per-guest series (--guest-fields); every field without it.</param>
    /// <param name="warn">Where to say, once per VM, that a VM's statistics were left out.</param>
    internal MetricsSampler(Sampler sampler, FieldFilter filter, TimeProvider time, bool followVms, ExporterIdentity? self,
        Action<string> warn, FieldFilter? guestFilter = null)
    {
        _sampler = sampler;
        _time = time;
        _self = self;
        _warn = warn;
        _formatter = new MetricsFormatter(filter, warn, guestFilter);
        // The baseline: counters count from here.
        _sampler.Sample();
        if (followVms)
            _follower = time.CreateTimer(_ => Follow(), null, s_follow, s_follow);
    }

    /// <summary>Counts the samples taken, so that a formatted exposition can be reused until the next.</summary>
    internal int SampleNumber { get; private set; }

    /// <summary>
    /// On the timer's thread, where an exception would end the process: a failure is said once
    /// (until following works again) and the next scrape samples as usual.
    /// </summary>
    internal void Follow()
    {
        lock (_lock)
        {
            try
            {
                _sampler.Follow();
                _followFailure = null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                string line = "following VMs between scrapes failed: " + KvmStat.Text.Escape(KvmStatException.Describe(e));
                if (line != _followFailure)
                    _warn(line);
                _followFailure = line;
            }
        }
    }

    /// <summary>The families of a sample at most half a second old; scrapes within that time share one.</summary>
    internal (IReadOnlyList<MetricFamily> Families, int SampleNumber) Current()
    {
        lock (_lock)
        {
            if (SampleNumber == 0 || _time.GetElapsedTime(_sampledAt) > s_reuse)
                Sample();
            return (_families, SampleNumber);
        }
    }

    private void Sample()
    {
        long started = _time.GetTimestamp();
        _sampler.Sample();
        List<MetricFamily> families = _formatter.Format(_sampler.Snapshot);
        if (_self is not null)
            AddSelf(families, _self, _sampler.Snapshot, _time.GetElapsedTime(started));
        _families = families;
        _sampledAt = _time.GetTimestamp();
        SampleNumber++;
    }

    /// <summary>What the exporter costs, what it is, how long the sample took, and which sources work.</summary>
    private static void AddSelf(List<MetricFamily> families, ExporterIdentity self, Snapshot snapshot, TimeSpan took)
    {
        ProcessMetrics.Add(families);
        var build = new MetricFamily("kvm_stat_build_info", "gauge", "kvm_stat's version, runtime and architecture, and the engine that counts tracepoints; always 1.");
        build.Gauge([("version", self.Version), ("runtime", RuntimeInformation.FrameworkDescription),
            ("arch", RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()), ("engine", self.Engine)], 1);
        families.Add(build);
        var duration = new MetricFamily("kvm_stat_scrape_duration_seconds", "gauge",
            "Seconds the sample of every source for this scrape took (scrapes within half a second share one sample).");
        duration.Add("", [], BaseUnits.Float(took.TotalSeconds));
        families.Add(duration);
        var up = new MetricFamily("kvm_stat_source_up", "gauge",
            "1 when a source (a QMP socket: target) could be read at the last sample, 0 when not, with the reason.");
        foreach (SourceHealth health in snapshot.Health)
            up.Gauge([("source", health.Source), ("target", health.Target), ("reason", health.Problem ?? "")], health.Up ? 1 : 0);
        families.Add(up);
    }

    /// <summary>Stops following VMs; the sampler belongs to the session, which closes it.</summary>
    public void Dispose()
    {
        _follower?.Dispose();
        // Waits for a Follow that is running on the timer's thread: the session closes the sampler next.
        lock (_lock)
        {
        }
    }
}
