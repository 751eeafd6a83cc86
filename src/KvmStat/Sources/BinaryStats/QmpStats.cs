using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// QEMU's query-stats-schemas and query-stats answers, read into the binary-stats model. A peer
/// may send any JSON: whatever is not of the expected shape is a <see cref="KvmStatsFormatException"/>
/// (or skipped, where QEMU itself may leave it out), never an exception of the JSON reader.
/// </summary>
internal static class QmpStats
{
    /// <summary>The kvm provider's VM and vCPU schemas; each descriptor's Offset is its position in the block.</summary>
    internal static (IReadOnlyList<KvmStatDescriptor> Vm, IReadOnlyList<KvmStatDescriptor> Vcpu) ParseSchemas(JsonElement schemas)
    {
        var vm = new List<KvmStatDescriptor>();
        var vcpu = new List<KvmStatDescriptor>();
        foreach (JsonElement schema in Items(schemas, "the answer to query-stats-schemas"))
        {
            if (String(schema, "provider") != "kvm")
                continue;
            List<KvmStatDescriptor>? into = String(schema, "target") switch
            {
                "vm" => vm,
                "vcpu" => vcpu,
                _ => null,
            };
            if (into is null || !TryGetProperty(schema, "stats", out JsonElement stats))
                continue;
            foreach (JsonElement stat in Items(stats, "a stats schema"))
            {
                KvmStatDescriptor descriptor = Descriptor(stat, into.Count);
                // A name twice would make two statistics of one: the first is kept.
                if (!into.Exists(d => d.Name == descriptor.Name))
                    into.Add(descriptor);
            }
        }
        return (vm, vcpu);
    }

    private static KvmStatDescriptor Descriptor(JsonElement stat, int position)
    {
        string name = String(stat, "name") ?? throw new KvmStatsFormatException("a QMP stats schema entry has no name");
        KvmStatType type = String(stat, "type") switch
        {
            "cumulative" => KvmStatType.Cumulative,
            "instant" => KvmStatType.Instant,
            "peak" => KvmStatType.Peak,
            "linear-histogram" => KvmStatType.LinearHistogram,
            "log2-histogram" => KvmStatType.LogHistogram,
            string other => throw new KvmStatsFormatException($"QMP stat {name} has an unknown type \"{other}\""),
            null => throw new KvmStatsFormatException($"QMP stat {name} has no type"),
        };
        KvmStatUnit unit = String(stat, "unit") switch
        {
            "bytes" => KvmStatUnit.Bytes,
            "seconds" => KvmStatUnit.Seconds,
            "cycles" => KvmStatUnit.Cycles,
            "boolean" => KvmStatUnit.Boolean,
            _ => KvmStatUnit.None,
        };
        int numberBase = Int(stat, "base", 10);
        int exponent = Int(stat, "exponent", 0);
        int bucketSize = Int(stat, "bucket-size", 0);
        if (type == KvmStatType.LinearHistogram && bucketSize <= 0)
            throw new KvmStatsFormatException($"QMP stat {name} is a linear histogram without a bucket size");
        // The number of values is known only from the answers; histograms size themselves there.
        return new KvmStatDescriptor(name, type, unit, numberBase, exponent, 1, position, bucketSize);
    }

    internal static string? String(JsonElement element, string name) =>
        TryGetProperty(element, name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    internal static int Int(JsonElement element, string name, int fallback) =>
        TryGetProperty(element, name, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int number)
            ? number
            : fallback;

    /// <summary>A member of an object; false for a missing member and for anything that is no object.</summary>
    internal static bool TryGetProperty(JsonElement element, string name, out JsonElement value)
    {
        if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out value))
            return true;
        value = default;
        return false;
    }

    /// <summary>The items of a list, or a format error naming <paramref name="what"/>.</summary>
    internal static JsonElement.ArrayEnumerator Items(JsonElement element, string what) =>
        element.ValueKind == JsonValueKind.Array ? element.EnumerateArray() : throw new KvmStatsFormatException($"{what} is not a list");

    /// <summary>A count: a whole number from 0 to 2^64-1, or a format error (never a number made up).</summary>
    internal static ulong Count(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out ulong number)
            ? number
            : throw new KvmStatsFormatException($"QMP stat {name} has a value that is no count: {Shorten(value.GetRawText())}");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
