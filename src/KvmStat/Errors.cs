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
}

/// <summary>Bad command-line input: exit status 2.</summary>
internal sealed class UsageException(string cause, string? fix = null)
    : KvmStatException(UsageExitCode, cause, fix);

/// <summary>The host lacks something the tool needs, or refuses it: exit status 1.</summary>
internal class EnvironmentException(string cause, string? fix = null)
    : KvmStatException(EnvironmentExitCode, cause, fix);
