using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>The statistics of the VM or one vCPU from the last query-stats, in schema order.</summary>
internal sealed class QmpBlock(IReadOnlyList<KvmStatDescriptor> schema, int vcpuIndex) : IStatsBlock
{
    private readonly ulong[][] _values = [.. schema.Select(_ => new ulong[1])];
    private readonly Dictionary<string, int> _positions = schema.Select((d, i) => (d.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

    public IReadOnlyList<KvmStatDescriptor> Descriptors => schema;

    public int VcpuIndex => vcpuIndex;

    public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) => _values[descriptor.Offset];

    /// <summary>Takes the values of one query-stats result ({"provider": "kvm", "stats": [{"name", "value"}...]}).</summary>
    internal void Fill(JsonElement result)
    {
        if (QmpStats.String(result, "provider") is string provider && provider != "kvm")
            return;
        if (!result.TryGetProperty("stats", out JsonElement stats))
            return;
        foreach (JsonElement stat in stats.EnumerateArray())
        {
            if (QmpStats.String(stat, "name") is not string name || !_positions.TryGetValue(name, out int position) ||
                !stat.TryGetProperty("value", out JsonElement value))
                continue;
            switch (value.ValueKind)
            {
                case JsonValueKind.Number:
                    _values[position][0] = value.TryGetUInt64(out ulong number) ? number : 0;
                    break;
                case JsonValueKind.True:
                case JsonValueKind.False:
                    _values[position][0] = value.ValueKind == JsonValueKind.True ? 1UL : 0UL;
                    break;
                case JsonValueKind.Array:
                    int length = value.GetArrayLength();
                    if (_values[position].Length != length)
                        _values[position] = new ulong[length];
                    int i = 0;
                    foreach (JsonElement bucket in value.EnumerateArray())
                        _values[position][i++] = bucket.TryGetUInt64(out ulong count) ? count : 0;
                    break;
            }
        }
    }
}
