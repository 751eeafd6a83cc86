using KvmStat.Host;

namespace KvmStat.Guests;

/// <summary>
/// Whether a process holds a KVM VM descriptor (anon_inode:kvm-vm), from /proc/PID/fd read with
/// getdents64 and readlinkat into reused buffers, stopping at the first one. A process chooses how
/// many descriptors it holds, so at most <see cref="MaxDescriptors"/> of each are looked at: the
/// kernel lists them by number and gives each new descriptor the lowest free number, and a VMM
/// creates its VM early, so a VM's descriptor is among its first.
/// </summary>
internal sealed class VmDescriptorProbe(HostPaths paths)
{
    internal const int MaxDescriptors = 4096;

    private readonly byte[] _entries = new byte[16384];
    private readonly byte[] _link = new byte[32];
    private readonly byte[] _nameZ = new byte[24];

    private static ReadOnlySpan<byte> VmLink => "anon_inode:kvm-vm"u8;

    /// <summary>Descriptors looked at since this probe was made: what the probes cost, for a budget.</summary>
    internal long Examined { get; private set; }

    /// <summary>
    /// True (with the descriptor's number) when the process holds a VM descriptor among its first
    /// <see cref="MaxDescriptors"/>; false when not; null when it cannot be told (the process is
    /// gone, or its descriptors are another user's to read: that takes CAP_SYS_PTRACE).
    /// </summary>
    internal bool? Holds(int pid, out int descriptor)
    {
        descriptor = -1;
        // Each process costs at least its folder's open and listing, descriptors or not.
        Examined++;
        int folder = OpenFolder(pid);
        if (folder < 0)
            return null;
        try
        {
            int looked = 0;
            while (true)
            {
                nint n = Interop.Libc.GetDents64(folder, _entries);
                if (n < 0)
                    return null;
                if (n == 0)
                    return false;
                ReadOnlySpan<byte> entries = _entries.AsSpan(0, (int)n);
                while (DirectoryScanner.NextName(ref entries, out ReadOnlySpan<byte> name))
                {
                    long fd = DirectoryScanner.ParseNonNegative(name);
                    if (fd < 0 || name.Length >= _nameZ.Length)
                        continue;
                    bool? vm = IsVm(folder, name);
                    if (vm is null)
                        return null;
                    if (vm == true)
                    {
                        descriptor = (int)fd;
                        return true;
                    }
                    if (++looked >= MaxDescriptors)
                        return false;
                }
                // A record that does not fit: the listing cannot be trusted.
                if (entries.Length > Interop.Abi.DirentNameOffset)
                    return null;
            }
        }
        finally
        {
            // A close of a folder only read from cannot lose anything.
            _ = Interop.Libc.Close(folder);
        }
    }

    /// <summary>Whether descriptor <paramref name="fd"/> of the process still is a VM descriptor (one look, for a VM found before).</summary>
    internal bool StillHolds(int pid, int fd) => HoldsAt(pid, fd) == true;

    /// <summary>
    /// Whether descriptor <paramref name="fd"/> of the process is a VM descriptor (one look): false
    /// when it is not; null where it cannot be told (its links are another user's to read, or its
    /// descriptors cannot be listed: the process is gone), as <see cref="Holds"/> says.
    /// </summary>
    internal bool? HoldsAt(int pid, int fd)
    {
        int folder = OpenFolder(pid);
        if (folder < 0)
            return null;
        try
        {
            Span<byte> name = stackalloc byte[12];
            fd.TryFormat(name, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
            return IsVm(folder, name[..written]);
        }
        finally
        {
            // A close of a folder only read from cannot lose anything.
            _ = Interop.Libc.Close(folder);
        }
    }

    /// <summary>"/proc/" (under a fixture's root), then room for a pid and "/fd" and a NUL: a look made without allocating, as a capture makes them.</summary>
    private readonly byte[] _folderZ = [.. System.Text.Encoding.UTF8.GetBytes(paths.Proc.TrimEnd('/') + "/"), .. new byte[16]];

    /// <summary>/proc/PID/fd, opened to list it and read links in it; or -errno.</summary>
    private int OpenFolder(int pid)
    {
        int prefixLength = _folderZ.Length - 16;
        Span<byte> path = _folderZ;
        if (!System.Buffers.Text.Utf8Formatter.TryFormat(pid, path[prefixLength..], out int digits))
            return -Interop.Errno.ENOENT;
        int end = prefixLength + digits;
        "/fd\0"u8.CopyTo(path[end..]);
        return Interop.Libc.Open(path[..(end + 4)], Interop.Abi.O_RDONLY | Interop.Abi.O_DIRECTORY | Interop.Abi.O_CLOEXEC);
    }

    /// <summary>One descriptor's link: a VM's or not; null where links cannot be read (another user's).</summary>
    private bool? IsVm(int folder, ReadOnlySpan<byte> name)
    {
        name.CopyTo(_nameZ);
        _nameZ[name.Length] = 0;
        Examined++;
        nint n = Interop.Libc.ReadLinkAt(folder, _nameZ.AsSpan(0, name.Length + 1), _link);
        if (n == -Interop.Errno.EACCES || n == -Interop.Errno.EPERM)
            return null;
        // Closed between the listing and the look: not a VM's descriptor now.
        return n > 0 && _link.AsSpan(0, (int)n).SequenceEqual(VmLink);
    }
}
