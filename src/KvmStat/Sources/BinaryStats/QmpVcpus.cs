using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>A QEMU's vCPUs over QMP: their statistics, each in the block of its QOM path, under the vCPU's index.</summary>
internal static class QmpVcpus
{
    /// <summary>The longest QOM path of a vCPU (QEMU's are like /machine/unattached/device[0]).</summary>
    private const int MaxQomPath = 256;

    /// <summary>Each vCPU's statistics, a block per QOM path with the vCPU's index; vCPUs no longer named are forgotten.</summary>
    /// <param name="held">The values the VM's own block holds: with the vCPUs', at most <see cref="QmpReader.MaxValuesPerVm"/>.</param>
    internal static void Query(QmpConnection qmp, QmpSocketState state, IReadOnlyList<KvmStatDescriptor> schema, long held)
    {
        using JsonDocument vcpus = qmp.Execute("query-stats", "{\"target\":\"vcpu\",\"providers\":[{\"provider\":\"kvm\"}]}");
        JsonElement answer = vcpus.RootElement.GetProperty("return");
        if (answer.ValueKind == JsonValueKind.Array && answer.GetArrayLength() > QmpReader.MaxVcpus)
            throw new KvmStatsFormatException($"{answer.GetArrayLength()} vCPUs (at most {QmpReader.MaxVcpus})");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var indexes = new HashSet<int>();
        foreach (JsonElement result in QmpStats.Items(answer, "the answer to query-stats"))
        {
            string qomPath = QmpStats.String(result, "qom-path") ?? "";
            if (qomPath.Length > MaxQomPath || !seen.Add(qomPath))
                throw new KvmStatsFormatException($"a vCPU's QOM path \"{QmpStats.Shorten(qomPath)}\" is too long or repeated");
            if (!state.VcpuBlocks.TryGetValue(qomPath, out QmpBlock? block))
            {
                if (!state.CpuIndexByPath.ContainsKey(qomPath))
                    LearnCpuIndexes(qmp, state);
                block = new QmpBlock(schema, state.CpuIndexByPath.GetValueOrDefault(qomPath, state.VcpuBlocks.Count));
                state.VcpuBlocks[qomPath] = block;
            }
            // Two vCPUs of one index would be one series twice.
            if (!indexes.Add(block.VcpuIndex))
                throw new KvmStatsFormatException($"two vCPUs have the index {block.VcpuIndex}");
            block.Fill(result);
            held += block.ValueCount;
            if (held > QmpReader.MaxValuesPerVm)
            {
                // What was taken is let go: a VM's statistics over the budget are none.
                state.VcpuBlocks.Clear();
                state.VmBlock = null;
                throw new KvmStatsFormatException($"statistics of more than {QmpReader.MaxValuesPerVm} values (a histogram's buckets each)");
            }
        }
        // vCPUs the answer no longer names (unplugged, or a peer that makes up paths) are forgotten.
        foreach (string gone in state.VcpuBlocks.Keys.Where(path => !seen.Contains(path)).ToList())
            state.VcpuBlocks.Remove(gone);
    }

    private static void LearnCpuIndexes(QmpConnection qmp, QmpSocketState state)
    {
        using JsonDocument cpus = qmp.Execute("query-cpus-fast");
        JsonElement answer = cpus.RootElement.GetProperty("return");
        if (answer.ValueKind == JsonValueKind.Array && answer.GetArrayLength() > QmpReader.MaxVcpus)
            throw new KvmStatsFormatException($"{answer.GetArrayLength()} CPUs (at most {QmpReader.MaxVcpus})");
        state.CpuIndexByPath.Clear();
        foreach (JsonElement cpu in QmpStats.Items(answer, "the answer to query-cpus-fast"))
        {
            int index = QmpStats.Int(cpu, "cpu-index", -1);
            if (QmpStats.String(cpu, "qom-path") is { Length: <= MaxQomPath } path && index is >= 0 and < QmpReader.MaxVcpus * 16)
                state.CpuIndexByPath[path] = index;
        }
    }
}
