namespace KvmStat;

/// <summary>Bad command-line input: exit status 2.</summary>
internal sealed class UsageException(string cause, string? fix = null)
    : KvmStatException(UsageExitCode, cause, fix);
