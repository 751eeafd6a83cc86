using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// The files --web-config-file names (itself, certificates, keys, CAs), read whole: a regular file
/// (the configuration at start may also come through a pipe, as from a shell's &lt;(...)) of at
/// most <see cref="MaxBytes"/>, so that a device (/dev/zero) cannot fill memory, and a FIFO named
/// as a certificate cannot hold the exporter's start or a reload for ever. Only what is a
/// regular file (or FIFO) by its path is opened, without waiting for a FIFO's writer but at
/// start, and the descriptor's own type is what counts. Failures are the exceptions .NET's own
/// file reads throw, which their callers already say in plain words.
/// </summary>
internal static class ConfigFile
{
    /// <summary>Far above any configuration or certificate bundle.</summary>
    internal const int MaxBytes = 4 << 20;

    /// <param name="pipe">Whether a pipe or FIFO is taken too (the configuration at start; it waits for the writer).</param>
    internal static string ReadText(string path, bool pipe = false)
    {
        // Nothing else is opened (a device's open can act: a watchdog, a tape, a terminal); then the
        // descriptor's own type, for a path changed in between.
        Check(Interop.Libc.PathType(path, followLink: true), path, pipe);
        int fd = Interop.Libc.Open(Encoding.UTF8.GetBytes(path + "\0"),
            Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC | Interop.Abi.O_NOCTTY | (pipe ? 0 : Interop.Abi.O_NONBLOCK));
        if (fd < 0)
            Check(fd, path, pipe);
        try
        {
            Check(Interop.Libc.FileTypeLinksAndOwner(fd).Type, path, pipe);
            return Read(fd);
        }
        finally
        {
            // A close of a descriptor only read from cannot lose anything.
            _ = Interop.Libc.Close(fd);
        }
    }

    /// <summary>Throws for a type (or -errno) that is not a regular file, or a FIFO where a pipe is taken.</summary>
    private static void Check(int type, string path, bool pipe)
    {
        if (type == Interop.Abi.S_IFREG || (pipe && type == Interop.Abi.S_IFIFO))
            return;
        throw type switch
        {
            -Interop.Errno.ENOENT or -Interop.Errno.ENOTDIR => new FileNotFoundException($"{path}: no such file", path),
            -Interop.Errno.EACCES or -Interop.Errno.EPERM => new UnauthorizedAccessException($"{path}: permission denied"),
            < 0 when type != -Interop.Errno.ENXIO => new IOException(Interop.Errno.Describe(-type)),
            _ when type == Interop.Abi.S_IFDIR => new IOException("is a folder, not a file"),
            // ENXIO: a socket's path opened.
            _ => new IOException($"is not a regular file{(pipe ? " or a pipe" : "")} (a device or socket{(pipe ? "" : ", or a FIFO")})"),
        };
    }

    private static string Read(int fd)
    {
        string text = Host.SysFile.TryReadText(fd, out int errno, MaxBytes + 1, out int bytes) ?? throw new IOException(Interop.Errno.Describe(errno));
        return bytes > MaxBytes ? throw new IOException($"is larger than {MaxBytes >> 20} MiB") : text;
    }
}
