namespace KvmStat.Output;

/// <summary>
/// A log file (-L) as a tool run by root must open it where other users may write: what is at the
/// path, and what leads to it, is checked, and records already in it are left whole.
/// </summary>
internal static class LogFile
{
    /// <summary>
    /// Up to <paramref name="length"/> bytes of the file open for appending from <paramref name="offset"/>,
    /// read through a copy opened for reading by its descriptor (the same file, whatever its path
    /// names now); null where it cannot be read.
    /// </summary>
    internal static byte[]? ReadAt(Interop.FileDescriptor file, long offset, int length)
    {
        int fd = Interop.Libc.Open(Interop.NulTerminated($"/proc/self/fd/{file.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)}"),
            Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC | Interop.Abi.O_NONBLOCK);
        if (fd < 0)
            return null;
        using var reading = new Interop.FileDescriptor(fd);
        byte[] buffer = new byte[length];
        nint n = Interop.Libc.PReadRetrying(fd, buffer, offset);
        return n < 0 ? null : buffer[..(int)n];
    }

    /// <summary>
    /// Records go on from a whole line. A last line cut short (a write that failed with the disk
    /// full, a process killed mid-write) that begins as a record does (a date and time, or a JSON
    /// record's {"timestamp":) is cut back, within the last 64 KiB; any other last line without its
    /// newline (another file's text, a banner cut short) is ended with one: never cut, never run into.
    /// </summary>
    private static void MendTail(Interop.FileDescriptor file)
    {
        if (Interop.Libc.FileVersion(file.Number) is not { Size: > 0 } version)
            return;
        int length = (int)Math.Min((ulong)(64 * 1024), version.Size);
        long from = (long)version.Size - length;
        if (ReadAt(file, from, length) is not { } tail || tail.Length != length || tail[^1] == (byte)'\n')
            return;
        int last = tail.AsSpan().LastIndexOf((byte)'\n');
        // The whole file is the fragment only where all of it was read.
        if ((last >= 0 || from == 0) && BeginsAsRecord(tail.AsSpan(last + 1)) && Interop.Libc.FTruncate(file.Number, from + last + 1) == 0)
            return;
        // A write that fails here fails again with the first record, which says why.
        _ = Interop.Libc.WriteAll(file.Number, "\n"u8);
    }

    /// <summary>Whether text is the start of a record: of "YYYY-MM-DD HH:MM:SS" and a space or comma, or of {"timestamp":".</summary>
    internal static bool BeginsAsRecord(ReadOnlySpan<byte> text)
    {
        ReadOnlySpan<byte> stamp = "0000-00-00 00:00:00"u8, json = "{\"timestamp\":\""u8;
        if (text.IsEmpty)
            return false;
        if (text[0] == (byte)'{')
            return text.Length <= json.Length ? json.StartsWith(text) : text.StartsWith(json);
        for (int i = 0; i < Math.Min(text.Length, stamp.Length); i++)
        {
            if (stamp[i] == (byte)'0' ? !char.IsAsciiDigit((char)text[i]) : text[i] != stamp[i])
                return false;
        }
        return text.Length <= stamp.Length || text[stamp.Length] is (byte)' ' or (byte)',';
    }

    /// <summary>
    /// Opens the log as a root-run tool must in a folder others may write: never through a
    /// symbolic link at the path (a link planted there would make root append to any file), nor
    /// through one among its folders that another user made (a link to root's own folder would),
    /// never taking a terminal as its own (O_NOCTTY), not inherited by children (O_CLOEXEC), without
    /// waiting for a FIFO's reader (O_NONBLOCK, no effect on a regular file), new files 0640; and
    /// only a regular file with one name: a FIFO, a device or a hard link at the path is refused with a
    /// line that says so.
    /// </summary>
    /// <param name="created">Whether this open made the file (O_EXCL first, then the file that is there).</param>
    internal static Interop.FileDescriptor Open(string path, out bool created)
    {
        int flags = Interop.Abi.O_WRONLY | Interop.Abi.O_APPEND | Interop.Abi.O_CLOEXEC | Interop.Abi.O_NOFOLLOW | Interop.Abi.O_NOCTTY | Interop.Abi.O_NONBLOCK;
        int fd = OpenWithoutLinks(path, flags, out created);
        // A link among the folders: followed only where this user or root made it, then the path
        // it leads to opened without links again (a folder swapped for a link meanwhile is refused).
        if (fd == -Interop.Errno.ELOOP && Interop.Libc.PathType(path) != Interop.Abi.S_IFLNK)
        {
            fd = OpenWithoutLinks(ThroughTrustedLinks(path), flags, out created);
            if (fd == -Interop.Errno.ELOOP)
                throw new EnvironmentException(
                    $"the folders of log file \"{Text.Escape(path)}\" changed while it was opened (a symbolic link appeared): not written to.",
                    "Give -L a path in a folder only you can write.");
        }
        if (fd == -Interop.Errno.ELOOP)
            throw NotAFile(path, "is a symbolic link");
        if (fd == -Interop.Errno.ENXIO)
            throw NotAFile(path, "is a FIFO or device");
        if (fd < 0)
        {
            // In a sticky folder the kernel refuses another user's link with EACCES before
            // O_NOFOLLOW is looked at: name what is there rather than blame the folder.
            if (Interop.Libc.PathType(path) == Interop.Abi.S_IFLNK)
                throw NotAFile(path, "is a symbolic link");
            throw new EnvironmentException(
                $"cannot open log file \"{Text.Escape(path)}\": {Interop.Errno.Describe(-fd)}.",
                "Check that its folder exists and is writable, or choose another file with -L.");
        }
        var file = new Interop.FileDescriptor(fd);
        (int type, uint links, uint owner) = Interop.Libc.FileTypeLinksAndOwner(fd);
        if (type != Interop.Abi.S_IFREG)
        {
            file.Dispose();
            throw NotAFile(path, type < 0 ? $"cannot be examined ({Interop.Errno.Describe(-type)})" : "is a FIFO, device or socket");
        }
        // A second name of another file (a hard link planted where protected_hardlinks is off)
        // would have root append to that file: only a file with one name is written.
        if (links > 1)
        {
            file.Dispose();
            throw new EnvironmentException(
                $"log file \"{Text.Escape(path)}\" has {links} hard links: it may be another file's second name, so it is not written to.",
                "Give -L a path where no file is yet, or remove the file's other names.");
        }
        // A file another user owns may hold what they wrote, and stays theirs to read and rewrite:
        // records are appended only to this user's own file (or root's).
        uint self = Interop.Libc.GetEUid();
        if (owner != self && owner != 0)
        {
            file.Dispose();
            throw new EnvironmentException(
                $"log file \"{Text.Escape(path)}\" belongs to uid {owner}, not to this user (uid {self}): another user could read and rewrite it, so it is not written to.",
                "Give -L a path in a folder only you can write, or remove that file.");
        }
        MendTail(file);
        return file;
    }

    private static EnvironmentException NotAFile(string path, string what) => new(
        $"log file \"{Text.Escape(path)}\" {what}, not a regular file: not written to.",
        "Give -L the path of a regular file (it is created if missing).");

    /// <summary>
    /// Opens with O_CREAT|O_EXCL first (then the file that is there), resolving the path without
    /// following any symbolic link (openat2, Linux 5.6); before 5.6, with O_NOFOLLOW on its last
    /// part only. New files are 0640.
    /// </summary>
    private static int OpenWithoutLinks(string path, int flags, out bool created)
    {
        byte[] pathZ = Interop.NulTerminated(path);
        int fd = Open(pathZ, flags | Interop.Abi.O_CREAT | Interop.Abi.O_EXCL);
        created = fd >= 0;
        // Something is there (a file, or a link or FIFO that the checks refuse); removed
        // meanwhile, the path is created as above.
        if (fd == -Interop.Errno.EEXIST)
            fd = Open(pathZ, flags | Interop.Abi.O_CREAT);
        return fd;

        static int Open(byte[] pathZ, int flags)
        {
            int fd = Interop.Libc.OpenAt2(pathZ, flags, 0x1a0 /* 0640 */, Interop.Abi.RESOLVE_NO_SYMLINKS);
            return fd == -Interop.Errno.ENOSYS ? Interop.Libc.Open(pathZ, flags, mode: 0x1a0) : fd;
        }
    }

    /// <summary>
    /// The path with the symbolic links among its folders followed, each only if this user or root
    /// owns it (as the kernel's protected_symlinks would have it in a shared folder, wherever it is);
    /// another user's link is refused, named.
    /// </summary>
    private static string ThroughTrustedLinks(string path)
    {
        uint self = Interop.Libc.GetEUid();
        // Not GetFullPath: it would take "link/.." away as text, where the kernel goes to the parent of the link's target.
        string absolute = System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Join(Directory.GetCurrentDirectory(), path);
        var pending = new Stack<string>(absolute.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        string resolved = "/";
        for (int links = 0; pending.Count > 1;)
        {
            string part = pending.Pop();
            if (part == ".")
                continue;
            if (part == "..")
            {
                resolved = System.IO.Path.GetDirectoryName(resolved) ?? "/";
                continue;
            }
            string next = System.IO.Path.Join(resolved, part);
            (int type, uint owner) = Interop.Libc.PathTypeAndOwner(next);
            if (type != Interop.Abi.S_IFLNK)
            {
                resolved = next;
                continue;
            }
            if (owner != self && owner != 0)
                throw new EnvironmentException(
                    $"the folder \"{Text.Escape(next)}\" on the way to log file \"{Text.Escape(path)}\" is a symbolic link of uid {owner}: not followed, not written to.",
                    "Give -L a path whose folders no other user can replace, such as /var/log/kvm_stat.log.");
            if (++links > 40 || new FileInfo(next).LinkTarget is not string target)
                throw new EnvironmentException($"the folders of log file \"{Text.Escape(path)}\" cannot be followed (a loop of links).", "Give -L another path.");
            // The link's parts go first: an absolute target starts from the root again.
            foreach (string p in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
                pending.Push(p);
            if (target.StartsWith('/'))
                resolved = "/";
        }
        return System.IO.Path.Join(resolved, pending.Pop());
    }
}
