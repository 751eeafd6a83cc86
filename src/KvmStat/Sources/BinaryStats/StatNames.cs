namespace KvmStat.Sources.BinaryStats;

/// <summary>
/// What a set of statistics from outside (a QMP peer's schema, a stats descriptor's header) must
/// be before anything reads it: a bounded number of them, each named like KVM names its statistics
/// (lower-case letters, digits and '_', at most <see cref="MaxName"/> characters, which are already
/// valid Prometheus names), no two with the same exported name once units are in the name
/// (halt_wait_ns in seconds and halt_wait_seconds would both be halt_wait_seconds). A set that is
/// not is refused whole, with a short reason: its VM is down, the others are not touched.
/// </summary>
internal static class StatNames
{
    /// <summary>The most statistics of one VM or vCPU (KVM has about fifty).</summary>
    internal const int MaxStats = 1024;

    /// <summary>The longest name (KVM's limit is 47 bytes).</summary>
    internal const int MaxName = 128;

    /// <summary>The most values of a histogram (KVM's have 32; room for eight times as many).</summary>
    internal const int MaxBuckets = 256;

    /// <summary>Why a name cannot be a statistic's, or null.</summary>
    internal static string? NameProblem(string name)
    {
        if (name.Length is 0 or > MaxName)
            return $"a statistic's name is {name.Length} characters long (1 to {MaxName} allowed)";
        if (!char.IsAsciiLetterLower(name[0]) && name[0] != '_' || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            return $"the statistic {Quote(name)} has a name KVM would not give (a-z, 0-9 and _ only)";
        return null;
    }

    /// <summary>Checks a whole set (one VM's or one vCPU's); throws a <see cref="KvmStatsFormatException"/> naming the first problem.</summary>
    internal static void Check(IReadOnlyList<KvmStatDescriptor> descriptors)
    {
        if (descriptors.Count > MaxStats)
            throw new KvmStatsFormatException($"{descriptors.Count} statistics (at most {MaxStats})");
        var exported = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (KvmStatDescriptor descriptor in descriptors)
        {
            if (NameProblem(descriptor.Name) is string problem)
                throw new KvmStatsFormatException(problem);
            if (descriptor.Base is not (2 or 10) || descriptor.Exponent is < -64 or > 64)
                throw new KvmStatsFormatException($"the statistic {descriptor.Name} has the scale {descriptor.Base}^{descriptor.Exponent}");
            if (descriptor.IsHistogram && descriptor.Size > MaxBuckets)
                throw new KvmStatsFormatException($"the histogram {descriptor.Name} has {descriptor.Size} buckets (at most {MaxBuckets})");
            string name = descriptor.ExportedName;
            if (exported.TryGetValue(name, out string? other))
                throw new KvmStatsFormatException(other == descriptor.Name
                    ? $"the statistic {descriptor.Name} is named twice"
                    : $"the statistics {other} and {descriptor.Name} would both be exported as {name}");
            exported[name] = descriptor.Name;
        }
    }

    private static string Quote(string name) => "\"" + Text.Escape(name.Length <= 40 ? name : name[..40] + "...") + "\"";
}
