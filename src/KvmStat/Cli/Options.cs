using KvmStat.Stats;

namespace KvmStat.Cli;

/// <summary>What the command line asks for, validated.</summary>
internal sealed record Options
{
    internal RunMode Mode { get; init; } = RunMode.Screen;

    internal OutputFormat Format { get; init; } = OutputFormat.Plain;

    /// <summary>-L: the log file; null logs to standard output.</summary>
    internal string? LogFile { get; init; }

    internal bool SkipZeroRecords { get; init; }
    internal bool Tracepoints { get; init; }
    internal TracepointEngineChoice Engine { get; init; }
    internal bool Debugfs { get; init; }

    /// <summary>Debugfs was chosen for want of tracefs (<see cref="Session"/>), not on the command line.</summary>
    internal bool FellBackToDebugfs { get; init; }
    internal bool IncludePast { get; init; }
    internal double Delay { get; init; } = SampleInterval.Default;
    internal bool DelayGiven { get; init; }
    internal string? Fields { get; init; }
    internal int Pid { get; init; }
    internal string? Guest { get; init; }
    internal bool Verbose { get; init; }
    internal bool BinaryStats { get; init; }

    /// <summary>--latency: exit latencies too (the BPF engine).</summary>
    internal bool Latency { get; init; }

    /// <summary>--vcpus: tracepoints per vCPU thread too (the BPF engine).</summary>
    internal bool Vcpus { get; init; }

    /// <summary>--guest-fields: the fields that get per-guest values in the exporter and JSON (null: every field).</summary>
    internal string? GuestFields { get; init; }

    internal FieldFilter GuestFilter => GuestFields is null ? FieldFilter.Default : FieldFilter.Create(GuestFields);
    internal IReadOnlyList<string> Qmp { get; init; } = [];

    /// <summary>--serve's address (the default when none was given).</summary>
    internal string ServeAddress { get; init; } = Exporter.ListenAddress.Default;

    /// <summary>--web-config-file: TLS, basic authentication and headers of the metrics endpoint.</summary>
    internal string? WebConfigFile { get; init; }

    /// <summary>--completion: the shell whose completion script to print.</summary>
    internal string? CompletionShell { get; init; }

    /// <summary>-1 counts for one second unless -s says otherwise.</summary>
    internal double BatchSeconds => DelayGiven ? Delay : 1.0;

    internal bool UsesQmp => Qmp.Count > 0;

    /// <summary>--qmp auto finds the sockets on QEMU command lines; null means that, else the paths.</summary>
    internal IReadOnlyList<string>? QmpSockets => Qmp.Contains("auto") ? null : Qmp;

    /// <summary>Without another source chosen, tracepoints are used.</summary>
    internal bool UseTracepoints => Tracepoints || !(Debugfs || BinaryStats || UsesQmp);
}
