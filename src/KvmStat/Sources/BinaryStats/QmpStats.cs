using System.Text.Json;

namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// QEMU's query-stats-schemas and query-stats answers, read into the binary-stats model. A peer
/// may send any JSON: whatever is not of the expected shape is a <see cref="KvmStatsFormatException"/>
/// (or skipped, where QEMU itself may leave it out), never an exception of the JSON reader. A
/// schema must pass <see cref="StatNames.Check"/> (bounded, names as KVM gives them, no two the
/// same once exported) and name only the types and units QEMU has.
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
            if (stats.ValueKind == JsonValueKind.Array && into.Count + stats.GetArrayLength() > StatNames.MaxStats)
                throw new KvmStatsFormatException($"a stats schema of {into.Count + stats.GetArrayLength()} statistics (at most {StatNames.MaxStats})");
            foreach (JsonElement stat in Items(stats, "a stats schema"))
                into.Add(Descriptor(stat, into.Count));
        }
        StatNames.Check(vm);
        StatNames.Check(vcpu);
        return (vm, vcpu);
    }

    private static KvmStatDescriptor Descriptor(JsonElement stat, int position)
    {
        string name = String(stat, "name") ?? throw new KvmStatsFormatException("a QMP stats schema entry has no name");
        if (StatNames.NameProblem(name) is string problem)
            throw new KvmStatsFormatException(problem);
        KvmStatType type = String(stat, "type") switch
        {
            "cumulative" => KvmStatType.Cumulative,
            "instant" => KvmStatType.Instant,
            "peak" => KvmStatType.Peak,
            "linear-histogram" => KvmStatType.LinearHistogram,
            "log2-histogram" => KvmStatType.LogHistogram,
            string other => throw new KvmStatsFormatException($"QMP stat {name} has an unknown type \"{Shorten(other)}\""),
            null => throw new KvmStatsFormatException($"QMP stat {name} has no type"),
        };
        KvmStatUnit unit = String(stat, "unit") switch
        {
            "bytes" => KvmStatUnit.Bytes,
            "seconds" => KvmStatUnit.Seconds,
            "cycles" => KvmStatUnit.Cycles,
            "boolean" => KvmStatUnit.Boolean,
            null => KvmStatUnit.None,
            string other => throw new KvmStatsFormatException($"QMP stat {name} has an unknown unit \"{Shorten(other)}\""),
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

    /// <summary>A count: a whole number from 0 to 2^63-1 (what a counter can be), or a format error (never a number made up).</summary>
    internal static ulong Count(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long number) && number >= 0
            ? (ulong)number
            : throw new KvmStatsFormatException($"QMP stat {name} has a value that is no count: {Shorten(value.GetRawText())}");

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";
}
