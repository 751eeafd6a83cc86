namespace KvmStat.Exporter;

/// <summary>What the exporter's build information names: its version, and the engine that counts tracepoints.</summary>
internal sealed record ExporterIdentity(string Version, string Engine);
