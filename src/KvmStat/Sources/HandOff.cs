namespace KvmStat.Sources;

/// <summary>
/// A child that holds descriptors this process gave up (see <see cref="DescriptorHandOff"/>). It
/// lets them go when this process exits; <see cref="Release"/> lets it go earlier (tests, which
/// outlive the runs they make).
/// </summary>
internal sealed class HandOff(int pid, Interop.FileDescriptor writeEnd)
{
    internal int Pid { get; } = pid;

    /// <summary>Closes this side of the pipe: the child sees end of file, exits and closes the descriptors.</summary>
    internal void Release() => writeEnd.Dispose();
}
