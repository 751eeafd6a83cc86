namespace KvmStat;

/// <summary>The host lacks something the tool needs, or refuses it: exit status 1.</summary>
internal class EnvironmentException(string cause, string? fix = null)
    : KvmStatException(EnvironmentExitCode, cause, fix);
