namespace KvmStat.Cli;

/// <summary>What a run of the tool does, decided once from the command line.</summary>
internal enum RunMode
{
    /// <summary>The interactive screen (no mode option given).</summary>
    Screen,

    /// <summary>-1: one interval, then every field.</summary>
    Batch,

    /// <summary>-l or -L: a record per interval.</summary>
    Log,

    /// <summary>--serve: the Prometheus endpoint.</summary>
    Serve,

    /// <summary>--doctor: what this host offers.</summary>
    Doctor,

    /// <summary>-f help: the available fields.</summary>
    ListFields,

    /// <summary>--man-page: the manual page (troff), written by ./build.sh.</summary>
    ManPage,

    /// <summary>--completion SHELL: the shell's completion script, installed by the packages.</summary>
    Completion,
}
