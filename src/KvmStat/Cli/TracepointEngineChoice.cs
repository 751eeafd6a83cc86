namespace KvmStat.Cli;

/// <summary>--engine: how tracepoints are counted.</summary>
internal enum TracepointEngineChoice
{
    /// <summary>BPF where the kernel allows it, else perf counters (said once on stderr).</summary>
    Auto,

    /// <summary>BPF or an error.</summary>
    Bpf,

    /// <summary>Perf counters, as the reference counts.</summary>
    Perf,
}
