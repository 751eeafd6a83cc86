namespace KvmStat.Cli;

/// <summary>What the command line asks for, validated.</summary>
internal sealed record Options
{
    internal const double DefaultDelay = 3.0;
    internal const double MinDelay = 0.1;
    internal const double MaxDelay = 25.5;

    internal bool Once { get; init; }
    internal bool Log { get; init; }
    internal string? LogFile { get; init; }
    internal bool Csv { get; init; }
    internal bool SkipZeroRecords { get; init; }
    internal bool Tracepoints { get; init; }
    internal bool Debugfs { get; init; }
    internal bool IncludePast { get; init; }
    internal double Delay { get; init; } = DefaultDelay;
    internal bool DelayGiven { get; init; }
    internal string? Fields { get; init; }
    internal int Pid { get; init; }
    internal string? Guest { get; init; }
    internal bool Verbose { get; init; }

    internal bool Logging => Log || LogFile is not null;

    internal bool FieldsHelp => Fields == "help";

    /// <summary>With neither -t nor -d, tracepoints are used.</summary>
    internal bool UseTracepoints => Tracepoints || !Debugfs;
}
