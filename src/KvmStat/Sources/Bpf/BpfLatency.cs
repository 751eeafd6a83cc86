using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// Reads the exit-latency histograms of a <see cref="BpfTable"/> (see <see cref="LatencyProgram"/>):
/// every bucket in use, by slot, into <see cref="ExitLatencies"/>. A slot's buckets go to the host's
/// retired histograms and out of the kernel's table when its process gives the slot back, so a
/// process that takes the slot later starts from zero.
/// </summary>
internal sealed class BpfLatency(BpfTable table, ExitLatencies latencies)
{
    // A batch of buckets at a time: a few system calls read the whole table, without buffers its size.
    private const int Batch = 8192;
    private readonly byte[] _keys = new byte[Batch * 8];
    private readonly byte[] _values = new byte[Batch * LatencyProgram.BucketValueSize];
    private readonly Dictionary<int, Dictionary<int, LatencyHistogram>> _bySlot = [];
    private readonly Dictionary<int, List<ulong>> _keysOfSlot = [];
    private readonly Dictionary<int, LatencyHistogram> _retired = [];
    private readonly byte[] _lost = new byte[8 * table.Layout.Cpus];

    internal ExitLatencies Latencies => latencies;

    /// <summary>Reads every bucket in use (a system call for each <see cref="Batch"/> of them).</summary>
    internal void Read()
    {
        foreach (Dictionary<int, LatencyHistogram> slot in _bySlot.Values)
        {
            foreach (LatencyHistogram histogram in slot.Values)
            {
                histogram.StartCapture();
                histogram.Clear();
            }
        }
        foreach (List<ulong> keys in _keysOfSlot.Values)
            keys.Clear();
        BpfMap map = table.Maps[LatencyProgram.Histograms];
        ulong cursor = 0;
        bool first = true, done = false;
        while (!done)
        {
            (int count, done) = map.LookupBatch(ref cursor, first, _keys, _values);
            first = false;
            for (int i = 0; i < count; i++)
            {
                ulong key = BinaryPrimitives.ReadUInt64LittleEndian(_keys.AsSpan(i * 8));
                int slot = (int)(uint)key, field = (int)(ushort)(key >> 32), bucket = (int)(ushort)(key >> 48);
                if (bucket >= ExitLatencies.Buckets || field >= latencies.Fields.Count)
                    continue;
                // A bucket's value: its exits, then the nanoseconds they took.
                LatencyHistogram histogram = Histogram(_bySlot, slot, field);
                ReadOnlySpan<byte> value = _values.AsSpan(i * LatencyProgram.BucketValueSize);
                histogram.Buckets[bucket] = BinaryPrimitives.ReadUInt64LittleEndian(value);
                histogram.Nanoseconds += BinaryPrimitives.ReadUInt64LittleEndian(value[8..]);
                if (!_keysOfSlot.TryGetValue(slot, out List<ulong>? keys))
                    _keysOfSlot[slot] = keys = [];
                keys.Add(key);
            }
            if (count == 0)
                break;
        }
        uint zero = 0;
        int result = table.Maps[LatencyProgram.Lost].Lookup(BpfMap.Key(ref zero), _lost);
        // As the counters' rows: a count that cannot be read is a failure said, never a stale number.
        if (result != 0)
            throw new BpfException("reading the count of exits whose time was lost", -result);
        long lost = 0;
        foreach (long perCpu in MemoryMarshal.Cast<byte, long>(_lost))
            lost += perCpu;
        latencies.Lost = lost;
    }

    /// <summary>A slot given back: its buckets stay in the host's, and leave the kernel's table.</summary>
    internal void Retire(int slot)
    {
        if (_bySlot.Remove(slot, out Dictionary<int, LatencyHistogram>? histograms))
        {
            foreach ((int field, LatencyHistogram histogram) in histograms)
                Histogram(_retired, field).Add(histogram);
        }
        if (!_keysOfSlot.Remove(slot, out List<ulong>? keys))
            return;
        BpfMap map = table.Maps[LatencyProgram.Histograms];
        foreach (ulong key in keys)
        {
            ulong copy = key;
            int result = map.Delete(BpfMap.Key(ref copy));
            if (result != 0 && result != -Interop.Errno.ENOENT)
                throw new BpfException("removing a process's latencies from the BPF table", -result);
        }
    }

    /// <summary>
    /// The host's histograms (every slot and every retired one), and each running VM's; with one
    /// process watched (-p/-g: its exits alone are stamped, all in slot 0), that one's.
    /// </summary>
    /// <param name="vms">A dictionary, not an interface: a foreach over one would box its enumerator at every capture.</param>
    internal void Publish(Dictionary<int, BpfProcess> vms, int watched)
    {
        foreach (LatencyHistogram histogram in latencies.Host.Values)
        {
            histogram.StartCapture();
            histogram.Clear();
        }
        foreach ((int field, LatencyHistogram histogram) in _retired)
            Histogram(latencies.Host, field).Add(histogram);
        foreach (Dictionary<int, LatencyHistogram> slot in _bySlot.Values)
        {
            foreach ((int field, LatencyHistogram histogram) in slot)
                Histogram(latencies.Host, field).Add(histogram);
        }
        latencies.Vms.Clear();
        if (watched > 0 && _bySlot.TryGetValue(0, out Dictionary<int, LatencyHistogram>? own))
            latencies.Vms[watched] = own;
        foreach ((int pid, BpfProcess process) in vms)
        {
            if (_bySlot.TryGetValue(process.Slot, out Dictionary<int, LatencyHistogram>? histograms))
                latencies.Vms[pid] = histograms;
        }
    }

    private static LatencyHistogram Histogram(Dictionary<int, Dictionary<int, LatencyHistogram>> bySlot, int slot, int field)
    {
        if (!bySlot.TryGetValue(slot, out Dictionary<int, LatencyHistogram>? histograms))
            bySlot[slot] = histograms = [];
        return Histogram(histograms, field);
    }

    private static LatencyHistogram Histogram(Dictionary<int, LatencyHistogram> histograms, int field)
    {
        if (!histograms.TryGetValue(field, out LatencyHistogram? histogram))
            histograms[field] = histogram = new LatencyHistogram();
        return histogram;
    }
}
