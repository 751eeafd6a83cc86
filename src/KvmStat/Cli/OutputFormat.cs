namespace KvmStat.Cli;

/// <summary>How -1 and -l/-L write their samples.</summary>
internal enum OutputFormat
{
    /// <summary>The reference's columns.</summary>
    Plain,

    /// <summary>-c: comma-separated (logs only).</summary>
    Csv,

    /// <summary>--json: JSON Lines.</summary>
    Json,
}
