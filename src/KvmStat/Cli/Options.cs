namespace KvmStat.Cli;

/// <summary>What the command line asks for, validated.</summary>
internal sealed record Options
{
    internal bool Once { get; init; }
    internal bool Log { get; init; }
    internal string? LogFile { get; init; }
    internal bool Csv { get; init; }
    internal bool SkipZeroRecords { get; init; }
    internal bool Tracepoints { get; init; }
    internal bool Debugfs { get; init; }
    internal bool IncludePast { get; init; }
    internal double Delay { get; init; } = Stats.SampleInterval.Default;
    internal bool DelayGiven { get; init; }
    internal string? Fields { get; init; }
    internal int Pid { get; init; }
    internal string? Guest { get; init; }
    internal bool Verbose { get; init; }
    internal bool BinaryStats { get; init; }
    internal IReadOnlyList<string> Qmp { get; init; } = [];
    internal bool Doctor { get; init; }
    internal bool Json { get; init; }

    /// <summary>--serve: the address, or null for the default; see <see cref="Serving"/>.</summary>
    internal string? Serve { get; init; }
    internal bool Serving { get; init; }

    internal bool UsesQmp => Qmp.Count > 0;

    /// <summary>--qmp auto finds the sockets on QEMU command lines; null means that, else the paths.</summary>
    internal IReadOnlyList<string>? QmpSockets => Qmp.Contains("auto") ? null : Qmp;

    internal bool Logging => Log || LogFile is not null;

    internal bool FieldsHelp => Fields == "help";

    /// <summary>Without another source chosen, tracepoints are used.</summary>
    internal bool UseTracepoints => Tracepoints || !(Debugfs || BinaryStats || UsesQmp);
}
