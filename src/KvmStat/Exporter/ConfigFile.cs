using System.Text;

namespace KvmStat.Exporter;

/// <summary>
/// The files --web-config-file names (itself, certificates, keys, CAs), read whole: a regular file
/// (the configuration may also come through a pipe, as from a shell's &lt;(...)) of at most
/// <see cref="MaxBytes"/>, so that a device (/dev/zero) cannot fill memory, and a FIFO named as a
/// certificate cannot hold the exporter's start or a reload for ever. Failures are the exceptions
/// .NET's own file reads throw, which their callers already say in plain words.
/// </summary>
internal static class ConfigFile
{
    /// <summary>Far above any configuration or certificate bundle.</summary>
    internal const int MaxBytes = 4 << 20;

    /// <param name="pipe">Whether a pipe or FIFO is taken too (the configuration, read once at start and at each reload).</param>
    internal static string ReadText(string path, bool pipe = false)
    {
        int type = Interop.Libc.PathType(path, followLink: true);
        if (type == -Interop.Errno.ENOENT || type == -Interop.Errno.ENOTDIR)
            throw new FileNotFoundException($"{path}: no such file", path);
        if (type == -Interop.Errno.EACCES)
            throw new UnauthorizedAccessException($"{path}: permission denied");
        if (type < 0)
            throw new IOException(Interop.Errno.Describe(-type));
        if (type != Interop.Abi.S_IFREG && !(pipe && type == Interop.Abi.S_IFIFO))
            throw new IOException(Directory.Exists(path) ? "is a folder, not a file" : $"is not a regular file{(pipe ? " or a pipe" : "")} (a device or socket{(pipe ? "" : ", or a FIFO")})");
        string text = Host.SysFile.TryReadText(path, out int errno, MaxBytes + 1)
            ?? throw (errno == Interop.Errno.EACCES ? new UnauthorizedAccessException($"{path}: permission denied") : new IOException(Interop.Errno.Describe(errno)));
        return Encoding.UTF8.GetByteCount(text) > MaxBytes ? throw new IOException($"is larger than {MaxBytes >> 20} MiB") : text;
    }
}
