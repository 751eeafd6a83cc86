namespace KvmStat.Cli;

/// <summary>What a shell completes after an option.</summary>
internal enum CompletionValue
{
    /// <summary>A flag: nothing follows.</summary>
    None,

    /// <summary>A value to type (a pid, a delay, an address): nothing to offer.</summary>
    Text,

    /// <summary>One of the option's fixed words (its completion sources): --engine bpf.</summary>
    Words,

    /// <summary>A file name (the option's value is named FILE or PATH), and its fixed words if any.</summary>
    Files,

    /// <summary>A field name, which the tool lists at completion time (-f help).</summary>
    Fields,
}
