using KvmStat.Host;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Perf;

/// <summary>
/// Counts kvm tracepoints with perf: one counter group per online CPU (system-wide), or one per
/// thread of the watched VM process (-p/-g). A refresh is one read() per group.
/// </summary>
internal sealed class TracepointSource : IStatsSource
{
    private readonly List<PerfCounterGroup> _cpuGroups = [];
    private readonly TracepointCounterSet _set;
    private readonly ProcessCounters? _process;
    private readonly ulong[] _sums;
    private readonly StatField[] _fields;

    private TracepointSource(TracepointCounterSet set, ProcessCounters? process)
    {
        _set = set;
        _process = process;
        _sums = new ulong[set.Fields.Count];
        _fields = [.. set.Fields.Set.All];
    }

    internal static TracepointSource ForAllCpus(TracepointCounterSet set, IReadOnlyList<int> cpus)
    {
        // Open the first group before sizing the field array: it may drop rejected children.
        set.Reserve(cpus.Count, $"{cpus.Count} CPUs");
        var groups = new List<PerfCounterGroup>(cpus.Count);
        try
        {
            foreach (int cpu in cpus)
            {
                // Null when the CPU went offline between reading the list and opening it.
                if (set.TryOpenForCpu(cpu) is PerfCounterGroup group)
                    groups.Add(group);
            }
        }
        catch
        {
            // A CPU that fails: the others' counters stop too, nothing counts on for nobody.
            foreach (PerfCounterGroup group in groups)
                set.Release(group);
            throw;
        }
        var source = new TracepointSource(set, process: null);
        source._cpuGroups.AddRange(groups);
        return source;
    }

    internal static TracepointSource ForProcess(TracepointCounterSet set, HostPaths paths, int pid)
    {
        var process = new ProcessCounters(set, paths, pid);
        try
        {
            process.Sync();
        }
        catch
        {
            process.Release();
            throw;
        }
        return new TracepointSource(set, process);
    }

    public string Name => SourceHealth.Tracepoints;

    public IReadOnlyList<StatField> Fields => _fields;

    internal int GroupCount => _process?.ThreadCount ?? _cpuGroups.Count;

    public void Read(Span<long> values)
    {
        Array.Clear(_sums);
        if (_process is not null)
        {
            _process.Sync();
            _process.ReadInto(_sums);
        }
        else
        {
            foreach (PerfCounterGroup group in _cpuGroups)
                group.ReadInto(_sums);
        }
        for (int i = 0; i < _sums.Length; i++)
            values[i] = (long)_sums[i];
    }

    /// <summary>Stops counting (the screen changed its fields or VM): descriptors are closed in the background.</summary>
    public void Dispose()
    {
        foreach (PerfCounterGroup group in _cpuGroups)
            _set.Release(group);
        _cpuGroups.Clear();
        _process?.Release();
    }
}
