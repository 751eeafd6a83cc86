using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>QEMU's query-stats-schemas and query-stats answers, read into the binary-stats model.</summary>
internal static class QmpStats
{
    /// <summary>The kvm provider's VM and vCPU schemas; each descriptor's Offset is its position in the block.</summary>
    internal static (IReadOnlyList<KvmStatDescriptor> Vm, IReadOnlyList<KvmStatDescriptor> Vcpu) ParseSchemas(JsonElement schemas)
    {
        var vm = new List<KvmStatDescriptor>();
        var vcpu = new List<KvmStatDescriptor>();
        foreach (JsonElement schema in schemas.EnumerateArray())
        {
            if (String(schema, "provider") != "kvm")
                continue;
            List<KvmStatDescriptor>? into = String(schema, "target") switch
            {
                "vm" => vm,
                "vcpu" => vcpu,
                _ => null,
            };
            if (into is null || !schema.TryGetProperty("stats", out JsonElement stats))
                continue;
            foreach (JsonElement stat in stats.EnumerateArray())
                into.Add(Descriptor(stat, into.Count));
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
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static int Int(JsonElement element, string name, int fallback) =>
        element.TryGetProperty(name, out JsonElement value) && value.TryGetInt32(out int number) ? number : fallback;
}
