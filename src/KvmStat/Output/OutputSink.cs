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
    private const string CheckTheFile = "Check the file and its file system; a run started again appends whole records after the last whole one.";
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
        Interop.FileDescriptor file = LogFile.Open(path, out bool created);
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
        if (Path is null || _file is null)
            return false;
        // The file open, not what its path names now. One that cannot be looked at: a header first
        // loses nothing, and the write that follows says what is wrong with the file.
        return Interop.Libc.FileVersion(_file.Number) is not { } version || version.Size == 0;
    }

    /// <summary>
    /// The log file's first line (from its first 64 KiB), read through the file open for appending,
    /// not through its path (another user may have put something else there since); null without one.
    /// </summary>
    internal string? FirstLine()
    {
        if (_file is null || LogFile.ReadAt(_file, 0, 64 * 1024) is not { Length: > 0 } head)
            return null;
        int end = head.AsSpan().IndexOf((byte)'\n');
        return Encoding.UTF8.GetString(head, 0, end < 0 ? head.Length : end);
    }

    /// <summary>
    /// Opens the log file again by name (logrotate moved the old one away) and closes the old one;
    /// returns why records written to the old one may be lost where its close failed, or null.
    /// </summary>
    internal string? Reopen()
    {
        if (Path is null)
            return null;
        Interop.FileDescriptor file = LogFile.Open(Path, out _created);
        Interop.FileDescriptor? old = _file;
        _file = file;
        int result = old?.CloseReporting() ?? 0;
        return result < 0 ? $"{CloseFailed(result)} Records go on to the file open now." : null;
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
                : CheckTheFile);
    }

    /// <summary>
    /// Closes the log file at the end of a run; a close that fails (a write-back the kernel could
    /// not make, EIO on NFS) may have lost records, and ends the run saying so.
    /// </summary>
    internal void Close()
    {
        Interop.FileDescriptor? file = _file;
        _file = null;
        int result = file?.CloseReporting() ?? 0;
        if (result < 0)
            throw new EnvironmentException(CloseFailed(result), CheckTheFile);
    }

    private string CloseFailed(int result) =>
        $"closing \"{Text.Escape(Path ?? "")}\" failed: {Interop.Errno.Describe(-result)}; records written to it may not have reached it.";

    /// <summary>Closes what a run that failed leaves open, without a second error in place of the first (<see cref="Close"/> is the end of a run that went well).</summary>
    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }
}
