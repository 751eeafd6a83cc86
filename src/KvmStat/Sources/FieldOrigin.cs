namespace KvmStat.Sources;

/// <summary>Which kind of source a field comes from: outputs that treat them apart (the exporter's families) ask this.</summary>
internal enum FieldOrigin
{
    /// <summary>A kvm tracepoint, or one exit reason of it.</summary>
    Tracepoint,

    /// <summary>A file of KVM's debugfs statistics.</summary>
    Debugfs,

    /// <summary>KVM's binary statistics (held descriptors or QMP).</summary>
    BinaryStats,

    /// <summary>Exit latencies as fields (--latency): the exporter serves them as histograms, not as these.</summary>
    ExitLatency,
}
