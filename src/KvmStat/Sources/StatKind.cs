namespace KvmStat.Sources;

/// <summary>How a field's numbers behave over time.</summary>
internal enum StatKind
{
    /// <summary>Only grows: shown as a total since the start and a delta per interval.</summary>
    Counter,

    /// <summary>An instant value (pages in use, vCPUs blocked): shown as it is, never differenced.</summary>
    Gauge,
}
