namespace KvmStat;

/// <summary>
/// A condition the user can fix, reported as one or two plain lines on stderr
/// (the cause, then the fix) and a non-zero exit status. Never a stack trace.
/// </summary>
internal class KvmStatException : Exception
{
    internal const int UsageExitCode = 2;
    internal const int EnvironmentExitCode = 1;

    internal KvmStatException(int exitCode, string cause, string? fix = null)
        : base(cause)
    {
        ExitCode = exitCode;
        Fix = fix;
    }

    internal int ExitCode { get; }

    internal string? Fix { get; }

    /// <summary>
    /// A failure in words, for a line that goes on (the exporter's log) or ends the process: a
    /// condition the user can fix is its message; anything else an "internal error" with its type.
    /// </summary>
    internal static string Describe(Exception? e) =>
        e is KvmStatException ? e.Message : $"internal error: {e?.GetType().Name ?? "unknown"}: {e?.Message}";

    /// <summary>The cause and the fix on one line (--doctor), the cause ended as a sentence.</summary>
    internal string CauseAndFix => Fix is null ? Message : $"{Message}{(Message.EndsWith('.') ? "" : ".")} {Fix}";
}
