using System.Text;

namespace KvmStat.Output;

/// <summary>
/// Where lines go: standard output or an appended log file. Each line is handed to the kernel
/// with one write() as soon as it is complete, so nothing sits in a buffer when the process is
/// stopped. A log file can be reopened (after logrotate renamed it, on SIGHUP).
/// </summary>
internal sealed class OutputSink : IDisposable
{
    private const int StdoutDescriptor = 1;
    private readonly TextWriter? _writer;
    private Interop.FileDescriptor? _file;
    // Whether the open of the file in use made it (see RemoveIfCreatedAndUnused).
    private bool _created;

    private OutputSink(Interop.FileDescriptor? file, string? path, TextWriter? writer = null)
    {
        _file = file;
        Path = path;
        _writer = writer;
    }

    /// <summary>The log file, or null for standard output.</summary>
    internal string? Path { get; }

    internal bool IsFile => Path is not null;

    /// <summary>
    /// Standard output: the descriptor itself when <paramref name="output"/> is the console, so
    /// each line is one write(); any other writer (a test's) receives the text instead.
    /// </summary>
    internal static OutputSink Stdout(TextWriter output) =>
        ReferenceEquals(output, Console.Out) ? new(null, null) : new(null, null, output);

    internal static OutputSink AppendTo(string path)
    {
        Interop.FileDescriptor file = OpenForAppend(path, out bool created);
        return new(file, path) { _created = created };
    }

    /// <summary>
    /// For a start that failed after the file was opened: a log file this sink created and never
    /// wrote is removed (only while the path still names that file), so a failed start leaves
    /// nothing behind. A file that was there before is left as it was.
    /// </summary>
    internal void RemoveIfCreatedAndUnused()
    {
        if (!_created || Path is null || _file is null)
            return;
        var mine = Interop.Libc.FileVersion(_file.Number);
        var named = Interop.Libc.FileVersion(Path);
        if (mine is { Size: 0 } && named is not null && named.Value.Device == mine.Value.Device && named.Value.Inode == mine.Value.Inode)
        {
            try
            {
                File.Delete(Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The start's own error is the one to report; an empty file is all that is left.
            }
        }
    }

    /// <summary>True when the log file has no content yet (a CSV header is written only then).</summary>
    internal bool FileIsEmpty()
    {
        if (Path is null)
            return false;
        try
        {
            return new FileInfo(Path).Length == 0;
        }
        catch (IOException)
        {
            // Gone since it was opened (or unreadable): a header first loses nothing, and the write
            // that follows says what is wrong with the file.
            return true;
        }
    }

    /// <summary>
    /// The log file's first line (from its first 64 KiB), read through the file open for appending,
    /// not through its path (another user may have put something else there since); null without one.
    /// </summary>
    internal string? FirstLine()
    {
        if (_file is null || ReadAt(_file, 0, 64 * 1024) is not { Length: > 0 } head)
            return null;
        int end = head.AsSpan().IndexOf((byte)'\n');
        return Encoding.UTF8.GetString(head, 0, end < 0 ? head.Length : end);
    }

    /// <summary>
    /// Up to <paramref name="length"/> bytes of the file open for appending from <paramref name="offset"/>,
    /// read through a copy opened for reading by its descriptor (the same file, whatever its path
    /// names now); null where it cannot be read.
    /// </summary>
    private static byte[]? ReadAt(Interop.FileDescriptor file, long offset, int length)
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
    /// A record cut short (a write that failed with the disk full, a process killed mid-write) is
    /// cut back to the last whole record, so that records appended now start on a line of their
    /// own. Only the tail after the last newline, and only within the last 64 KiB, goes.
    /// </summary>
    private static void CutPartialRecord(Interop.FileDescriptor file)
    {
        if (Interop.Libc.FileVersion(file.Number) is not { Size: > 0 } version)
            return;
        int length = (int)Math.Min((ulong)(64 * 1024), version.Size);
        long from = (long)version.Size - length;
        if (ReadAt(file, from, length) is not { } tail || tail.Length != length || tail[^1] == (byte)'\n')
            return;
        int last = tail.AsSpan().LastIndexOf((byte)'\n');
        // No newline in 64 KiB: no log of records; left as it is. A cut that fails leaves the
        // fragment, which the next record only follows.
        if (last >= 0)
            _ = Interop.Libc.FTruncate(file.Number, from + last + 1);
    }

    /// <summary>
    /// Opens the log as a root-run tool must in a folder others may write: never through a
    /// symbolic link (O_NOFOLLOW: a link planted at the path would make root append to any file),
    /// never taking a terminal as its own (O_NOCTTY), not inherited by children (O_CLOEXEC), without
    /// waiting for a FIFO's reader (O_NONBLOCK, no effect on a regular file), new files 0640; and
    /// only a regular file with one name: a FIFO, a device or a hard link at the path is refused with a
    /// line that says so.
    /// </summary>
    /// <param name="created">Whether this open made the file (O_EXCL first, then the file that is there).</param>
    private static Interop.FileDescriptor OpenForAppend(string path, out bool created)
    {
        byte[] pathZ = Interop.NulTerminated(path);
        int flags = Interop.Abi.O_WRONLY | Interop.Abi.O_APPEND | Interop.Abi.O_CLOEXEC | Interop.Abi.O_NOFOLLOW | Interop.Abi.O_NOCTTY | Interop.Abi.O_NONBLOCK;
        int fd = Interop.Libc.Open(pathZ, flags | Interop.Abi.O_CREAT | Interop.Abi.O_EXCL, mode: 0x1a0 /* 0640 */);
        created = fd >= 0;
        // Something is there (a file, or a link or FIFO that the checks below refuse); removed
        // meanwhile, the path is created as above.
        if (fd == -Interop.Errno.EEXIST)
            fd = Interop.Libc.Open(pathZ, flags | Interop.Abi.O_CREAT, mode: 0x1a0);
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
        CutPartialRecord(file);
        return file;
    }

    private static EnvironmentException NotAFile(string path, string what) => new(
        $"log file \"{Text.Escape(path)}\" {what}, not a regular file: not written to.",
        "Give -L the path of a regular file (it is created if missing).");

    /// <summary>Closes the log file and opens it again by name (logrotate moved the old one away).</summary>
    internal void Reopen()
    {
        if (Path is null)
            return;
        Interop.FileDescriptor file = OpenForAppend(Path, out _created);
        _file?.Dispose();
        _file = file;
    }

    internal void Write(ReadOnlySpan<byte> data)
    {
        if (_writer is not null)
        {
            _writer.Write(Encoding.UTF8.GetString(data));
            return;
        }
        int result = Interop.Libc.WriteAll(_file?.Number ?? StdoutDescriptor, data);
        if (result == 0)
            return;
        if (-result == Interop.Errno.EPIPE)
            throw new OutputClosedException();
        throw new EnvironmentException(
            $"cannot write to {(Path is null ? "standard output" : $"\"{Text.Escape(Path)}\"")}: {Interop.Errno.Describe(-result)}.",
            -result is Interop.Errno.ENOSPC or Interop.Errno.EDQUOT
                ? "Free space on its file system (or raise the quota), or log elsewhere: a run started again appends whole records after the last whole one."
                : "Check the file and its file system; a run started again appends whole records after the last whole one.");
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }
}
