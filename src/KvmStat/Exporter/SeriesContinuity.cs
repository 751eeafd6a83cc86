using System.Runtime.InteropServices;

namespace KvmStat.Exporter;

/// <summary>
/// Keeps every counter series of a VM from going backwards: when a VM restarts under the same pid
/// and name (the same label set), its counters start from zero again, and the last value of the
/// series is carried into them. A Prometheus counter that decreases within one series reads as a
/// reset and loses what was counted between two scrapes; a series that was absent from a scrape
/// is marked stale, and its return is a new series that may start from zero.
/// <para>
/// Bounded for a service that runs for months while VMs come and go: a VM that is gone keeps its
/// entry for <see cref="Keep"/> (longer than any sensible scrape interval, so every scraper has
/// seen the series end by then), and at most <see cref="MaxGone"/> gone VMs are kept, the oldest
/// forgotten first. A pid is reused only once the kernel has gone round all pids, so a VM back
/// under its pid sooner than that is rare; it then starts a new series from zero.
/// </para>
/// </summary>
internal sealed class SeriesContinuity(TimeProvider time)
{
    internal static readonly TimeSpan Keep = TimeSpan.FromMinutes(5);
    internal const int MaxGone = 64;

    private readonly record struct SeriesKey(string Family, string Name, int Index);

    private struct Carry
    {
        internal long Last;
        internal long Offset;
    }

    private sealed class VmSeries(string name)
    {
        internal string Name { get; } = name;

        internal int Generation { get; set; }

        internal long LastSeen { get; set; }

        internal Dictionary<SeriesKey, Carry> Series { get; } = [];

        internal Dictionary<string, IndexedSeries> Indexed { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// One VM's counters of one family by field index: a dense host's hot path (thousands of VMs
    /// times tens of events) takes one lookup per VM and family, not one per series.
    /// </summary>
    internal sealed class IndexedSeries(int count)
    {
        private readonly long[] _last = new long[count];
        private readonly long[] _offset = new long[count];

        internal int Count => _last.Length;

        /// <summary>As <see cref="Monotonic"/>, for the counter of index <paramref name="index"/>.</summary>
        internal long Monotonic(int index, long value)
        {
            if (value < _last[index])
                _offset[index] += _last[index];
            _last[index] = value;
            return value + _offset[index];
        }
    }

    private readonly Dictionary<int, VmSeries> _vms = [];
    private readonly List<(long LastSeen, int Pid)> _kept = [];
    private int _generation;

    /// <summary>VMs with an entry: those of the last sample and those gone within the limits.</summary>
    internal int TrackedVms => _vms.Count;

    internal void BeginSample() => _generation++;

    /// <summary>
    /// The value to export for a counter of VM <paramref name="pid"/> named <paramref name="guest"/>:
    /// <paramref name="value"/> plus what the series counted before the VM last started from zero.
    /// </summary>
    /// <param name="index">The vCPU of a per-vCPU statistic, or -1.</param>
    internal long Monotonic(int pid, string guest, string family, string name, int index, long value)
    {
        VmSeries vm = Seen(pid, guest);
        ref Carry carry = ref CollectionsMarshal.GetValueRefOrAddDefault(vm.Series, new SeriesKey(family, name, index), out bool exists);
        if (exists && value < carry.Last)
            carry.Offset += carry.Last;
        carry.Last = value;
        return value + carry.Offset;
    }

    /// <summary>The counters of family <paramref name="family"/> of VM <paramref name="pid"/> named <paramref name="guest"/>, <paramref name="count"/> of them by index.</summary>
    internal IndexedSeries Indexed(int pid, string guest, string family, int count)
    {
        VmSeries vm = Seen(pid, guest);
        if (!vm.Indexed.TryGetValue(family, out IndexedSeries? series) || series.Count != count)
            vm.Indexed[family] = series = new IndexedSeries(count);
        return series;
    }

    /// <summary>The entry of a VM seen in this sample: a new one when its pid now names another guest.</summary>
    private VmSeries Seen(int pid, string guest)
    {
        if (!_vms.TryGetValue(pid, out VmSeries? vm) || vm.Name != guest)
            _vms[pid] = vm = new VmSeries(guest);
        vm.Generation = _generation;
        vm.LastSeen = time.GetTimestamp();
        return vm;
    }

    /// <summary>After a sample: forgets the VMs gone for longer than <see cref="Keep"/>, and the oldest beyond <see cref="MaxGone"/>.</summary>
    internal void EndSample()
    {
        long now = time.GetTimestamp();
        _kept.Clear();
        foreach ((int pid, VmSeries vm) in _vms)
        {
            if (vm.Generation == _generation)
                continue;
            if (time.GetElapsedTime(vm.LastSeen, now) > Keep)
                _vms.Remove(pid);
            else
                _kept.Add((vm.LastSeen, pid));
        }
        if (_kept.Count <= MaxGone)
            return;
        _kept.Sort();
        for (int i = 0; i < _kept.Count - MaxGone; i++)
            _vms.Remove(_kept[i].Pid);
    }
}
