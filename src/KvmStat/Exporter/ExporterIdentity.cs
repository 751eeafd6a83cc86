using KvmStat.Sources;

namespace KvmStat.Exporter;

/// <summary>
/// What the exporter's own metrics name: its version, the engine that counts tracepoints, and the
/// sources that could not be opened at start (served as down, with the reason, for as long as it runs).
/// </summary>
internal sealed record ExporterIdentity(string Version, string Engine, IReadOnlyList<SourceHealth>? Unopened = null);
