using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>The names KVM gives a VM's debugfs folder: "PID-FD" (the process and its VM descriptor).</summary>
internal static class VmFolderName
{
    /// <summary>"1234-15" → pid &lt;&lt; 32 | fd; anything else → -1.</summary>
    internal static long Parse(ReadOnlySpan<byte> name)
    {
        int dash = name.IndexOf((byte)'-');
        if (dash <= 0)
            return -1;
        long pid = DirectoryScanner.ParsePositive(name[..dash]);
        ReadOnlySpan<byte> fdText = name[(dash + 1)..];
        long fd = fdText.SequenceEqual("0"u8) ? 0 : DirectoryScanner.ParsePositive(fdText);
        if (pid <= 0 || pid > int.MaxValue || fd < 0 || fd > int.MaxValue)
            return -1;
        return pid << 32 | fd;
    }
}
