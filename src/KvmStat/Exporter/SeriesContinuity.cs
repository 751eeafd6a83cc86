using System.Runtime.InteropServices;

namespace KvmStat.Exporter;

/// <summary>
/// Keeps a running VM's binary-statistics counters from going backwards: a vCPU unplugged and
/// plugged again starts its statistics from zero under the same labels, and the series' last
/// value is carried into them (a Prometheus counter that decreases reads as a reset and loses
/// what was counted between two scrapes).
/// <para>
/// Only while the VM runs: a VM missing from a sample has ended, and another process under the
/// same pid (another instance, even between two samples and under the same name) is another VM,
/// whose counters start from zero as a new process's (it never inherits a dead VM's counts;
/// Prometheus reads the drop as a reset, and the dead VM's last events are in the exited VMs' counts). The entries are those of the VMs of
/// the last sample: they do not grow with the VMs that came and went.
/// </para>
/// </summary>
internal sealed class SeriesContinuity
{
    private readonly record struct SeriesKey(string Family, string Name, int Index);

    private struct Carry
    {
        internal long Last;
        internal long Offset;
    }

    private sealed class VmSeries(long instance)
    {
        internal long Instance { get; } = instance;

        internal int Generation { get; set; }

        internal Dictionary<SeriesKey, Carry> Series { get; } = [];
    }

    private readonly Dictionary<int, VmSeries> _vms = [];
    private readonly List<int> _gone = [];
    private int _generation;

    /// <summary>VMs with an entry: those of the last sample.</summary>
    internal int TrackedVms => _vms.Count;

    internal void BeginSample() => _generation++;

    /// <summary>
    /// The value to export for a counter of VM <paramref name="pid"/>, process <paramref name="instance"/> under it
    /// (<see cref="Sources.BinaryStats.VmStatsBlocks.Instance"/>): <paramref name="value"/> plus what the
    /// series counted before the running VM's counter last started from zero.
    /// </summary>
    /// <param name="index">The vCPU of a per-vCPU statistic, or -1.</param>
    internal long Monotonic(int pid, long instance, string family, string name, int index, long value)
    {
        VmSeries vm = Seen(pid, instance);
        ref Carry carry = ref CollectionsMarshal.GetValueRefOrAddDefault(vm.Series, new SeriesKey(family, name, index), out bool exists);
        if (exists && value < carry.Last)
            carry.Offset += carry.Last;
        carry.Last = value;
        return value + carry.Offset;
    }

    /// <summary>The entry of a VM seen in this sample: a new one when its pid is now another process's.</summary>
    private VmSeries Seen(int pid, long instance)
    {
        if (!_vms.TryGetValue(pid, out VmSeries? vm) || vm.Instance != instance)
            _vms[pid] = vm = new VmSeries(instance);
        vm.Generation = _generation;
        return vm;
    }

    /// <summary>After a sample: forgets the VMs it did not have (they ended).</summary>
    internal void EndSample()
    {
        _gone.Clear();
        foreach ((int pid, VmSeries vm) in _vms)
        {
            if (vm.Generation != _generation)
                _gone.Add(pid);
        }
        foreach (int pid in _gone)
            _vms.Remove(pid);
    }
}
