namespace KvmStat.Sources.Debugfs;

/// <summary>
/// None of the selected debugfs statistics can be read; <see cref="Lockdown"/> when the kernel's
/// lockdown forbids it (EPERM, even for root), for the caller that knows where else the numbers are.
/// </summary>
internal sealed class DebugfsLockedException(string cause, string fix, bool lockdown) : EnvironmentException(cause, fix)
{
    internal bool Lockdown { get; } = lockdown;
}
