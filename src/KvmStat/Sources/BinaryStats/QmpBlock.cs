using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>The statistics of the VM or one vCPU from the last query-stats, in schema order.</summary>
internal sealed class QmpBlock(IReadOnlyList<KvmStatDescriptor> schema, int vcpuIndex) : IStatsBlock
{
    private readonly ulong[][] _values = [.. schema.Select(_ => new ulong[1])];
    private readonly bool[] _sized = new bool[schema.Count];
    private readonly Dictionary<string, int> _positions = schema.Select((d, i) => (d.Name, i)).DistinctBy(p => p.Name).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);

    public IReadOnlyList<KvmStatDescriptor> Descriptors => schema;

    public int VcpuIndex => vcpuIndex;

    public ReadOnlySpan<ulong> Values(KvmStatDescriptor descriptor) => _values[descriptor.Offset];

    /// <summary>How many values the block holds (a histogram's buckets each): what it costs, for a VM's budget.</summary>
    internal long ValueCount
    {
        get
        {
            long count = 0;
            foreach (ulong[] values in _values)
                count += values.Length;
            return count;
        }
    }

    /// <summary>
    /// Takes the values of one query-stats result ({"provider": "kvm", "stats": [{"name", "value"}...]});
    /// a value that is no count, a list for a single value or a single value for a histogram, and a
    /// histogram whose size changes, are a <see cref="KvmStatsFormatException"/>, not a number made up.
    /// </summary>
    internal void Fill(JsonElement result)
    {
        if (QmpStats.String(result, "provider") is string provider && provider != "kvm")
            return;
        // A result of this provider without its statistics is no answer to read: never zeros made up.
        if (!QmpStats.TryGetProperty(result, "stats", out JsonElement stats))
            throw new KvmStatsFormatException("a query-stats result without \"stats\"");
        if (stats.ValueKind == JsonValueKind.Array && stats.GetArrayLength() > StatNames.MaxStats)
            throw new KvmStatsFormatException($"a query-stats result of {stats.GetArrayLength()} statistics (at most {StatNames.MaxStats})");
        foreach (JsonElement stat in QmpStats.Items(stats, "the stats of a query-stats result"))
        {
            if (QmpStats.String(stat, "name") is not string name || !_positions.TryGetValue(name, out int position) ||
                !QmpStats.TryGetProperty(stat, "value", out JsonElement value))
                continue;
            bool histogram = schema[position].IsHistogram;
            switch (value.ValueKind)
            {
                case JsonValueKind.Number when !histogram:
                    _values[position][0] = QmpStats.Count(value, name);
                    break;
                case JsonValueKind.True when !histogram:
                case JsonValueKind.False when !histogram:
                    _values[position][0] = value.ValueKind == JsonValueKind.True ? 1UL : 0UL;
                    break;
                case JsonValueKind.Array when histogram:
                    int length = value.GetArrayLength();
                    // A histogram's buckets are fixed by KVM: sized by the first answer, and so they stay.
                    if (length is 0 or > StatNames.MaxBuckets || (_sized[position] && _values[position].Length != length))
                        throw new KvmStatsFormatException($"QMP stat {name} has {length} buckets{(_sized[position] ? $" where it had {_values[position].Length}" : "")}");
                    _sized[position] = true;
                    if (_values[position].Length != length)
                        _values[position] = new ulong[length];
                    int i = 0;
                    foreach (JsonElement bucket in value.EnumerateArray())
                        _values[position][i++] = QmpStats.Count(bucket, name);
                    break;
                default:
                    throw new KvmStatsFormatException($"QMP stat {name} has a value that is no {(histogram ? "list of counts" : "count")}");
            }
        }
    }
}
