namespace KvmStat.Exporter;

/// <summary>What the exporter's own metrics name: its version, and the engine that counts tracepoints ("bpf", "perf", or "" without).</summary>
internal sealed record ExporterIdentity(string Version, string Engine);
