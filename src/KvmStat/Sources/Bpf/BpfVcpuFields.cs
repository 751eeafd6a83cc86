using KvmStat.Guests;
using KvmStat.Sources.Tracepoints;

namespace KvmStat.Sources.Bpf;

/// <summary>
/// With -p/-g and --vcpus: a child per vCPU of each tracepoint field, named as the binary
/// statistics name theirs (kvm_pio(vcpu0)), for the vCPU threads the VM has when counting starts,
/// as the selection keeps them (-f kvm_pio shows them, -f 'kvm_pio$' does not). A child counts its
/// vCPU's threads from their first events; a thread that exits keeps what it counted. Events of the
/// VM's other threads (its main loop, I/O threads) are the parent's only.
/// </summary>
internal sealed class BpfVcpuFields
{
    private readonly List<StatField> _fields = [];
    private readonly List<(int Field, string Label)> _children = [];
    private readonly Dictionary<string, long[]> _retired = new(StringComparer.Ordinal);
    private readonly List<BpfThread> _seen = [];
    private readonly int _counted;

    /// <param name="fields">The engine's fields (from the first), which a thread's row counts at their indices.</param>
    internal BpfVcpuFields(IReadOnlyList<TracepointField> fields, IReadOnlyList<VcpuThread> vcpus, IFieldSelection selection)
    {
        string[] labels = VcpuThreads.Labels(vcpus);
        for (int index = 0; index < fields.Count; index++)
        {
            TracepointField field = fields[index];
            if (field.IsChild)
                continue;
            List<StatField> candidates =
            [
                field.ToStatField(),
                .. labels.Select(label => StatField.Child(field.Name, label, StatKind.Counter, FieldOrigin.Tracepoint) with { IsVcpu = true }),
            ];
            foreach (StatField chosen in selection.Select(candidates, f => f.Name, f => f.Parent).Where(f => f.IsChild))
            {
                _fields.Add(chosen);
                _children.Add((index, chosen.Label!));
            }
        }
        _counted = fields.Count;
    }

    internal IReadOnlyList<StatField> Fields => _fields;

    /// <summary>Each child's count: its vCPU's threads now, and those gone.</summary>
    internal void Read(IReadOnlyList<BpfThread> threads, Span<long> values)
    {
        // A thread read at the last sample and gone now was read a last time when it gave its row back.
        foreach (BpfThread gone in _seen)
        {
            if (Contains(threads, gone))
                continue;
            if (!_retired.TryGetValue(gone.Reading.Label, out long[]? retired))
                _retired[gone.Reading.Label] = retired = new long[_counted];
            for (int i = 0; i < retired.Length; i++)
                retired[i] += gone.Totals[i];
        }
        _seen.Clear();
        _seen.AddRange(threads);
        for (int child = 0; child < _children.Count; child++)
        {
            (int field, string label) = _children[child];
            long sum = _retired.TryGetValue(label, out long[]? retired) ? retired[field] : 0;
            // By index: a foreach over the interface would box an enumerator at every read.
            for (int t = 0; t < threads.Count; t++)
            {
                if (string.Equals(threads[t].Reading.Label, label, StringComparison.Ordinal))
                    sum += threads[t].Totals[field];
            }
            values[child] = sum;
        }
    }

    private static bool Contains(IReadOnlyList<BpfThread> threads, BpfThread thread)
    {
        for (int i = 0; i < threads.Count; i++)
        {
            if (ReferenceEquals(threads[i], thread))
                return true;
        }
        return false;
    }
}
