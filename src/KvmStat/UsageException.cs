namespace KvmStat;

/// <summary>
/// Bad command-line input: exit status 2, as the reference's argparse refuses an unknown option or
/// a value that is no number; what the reference checks itself once the line is parsed
/// (<see cref="Checked"/>) exits 1, as its sys.exit does, so scripts that test for either still work.
/// </summary>
internal sealed class UsageException(string cause, string? fix = null, int exitCode = KvmStatException.UsageExitCode)
    : KvmStatException(exitCode, cause, fix)
{
    /// <summary>The reference's own checks: -c or -z without -l/-L, a bad -f expression, a delay out of range.</summary>
    internal static UsageException Checked(string cause, string? fix = null) => new(cause, fix, ReferenceCheckExitCode);

    private const int ReferenceCheckExitCode = 1;
}
