using System.Buffers;
using System.Text;

namespace KvmStat.Host;

/// <summary>
/// Reads small kernel files (tracefs ids and formats, /proc entries) with plain open/read/close.
/// FileStream would add an fstat, an advisory lock and positioned reads to each of the hundreds
/// of files read at start-up.
/// </summary>
internal static class SysFile
{
    /// <summary>The file's text, or null with the errno when it cannot be read (it vanished, say).</summary>
    /// <param name="maxBytes">Reads no further than this: what other processes control cannot make the tool read without end.</param>
    internal static string? TryReadText(string path, out int errno, int maxBytes = 16 << 20)
    {
        byte[] pathZ = ArrayPool<byte>.Shared.Rent(Interop.NulTerminatedLength(path));
        try
        {
            _ = Interop.NulTerminated(path, pathZ);
            int fd = Interop.Libc.Open(pathZ, Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC);
            if (fd < 0)
            {
                errno = -fd;
                return null;
            }
            try
            {
                return TryReadText(fd, out errno, maxBytes, out _);
            }
            finally
            {
                // A close of a descriptor only read from cannot lose anything.
                _ = Interop.Libc.Close(fd);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pathZ);
        }
    }

    /// <summary>An open descriptor's text to its end or <paramref name="maxBytes"/>, and how many bytes that was; null with the errno where a read fails.</summary>
    internal static string? TryReadText(int fd, out int errno, int maxBytes, out int bytes)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16384);
        try
        {
            int filled = 0;
            while (filled < maxBytes)
            {
                if (filled == buffer.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                nint n = Interop.Libc.ReadRetrying(fd, buffer.AsSpan(filled, Math.Min(buffer.Length, maxBytes) - filled));
                if (n < 0)
                {
                    (errno, bytes) = ((int)-n, filled);
                    return null;
                }
                if (n == 0)
                    break;
                filled += (int)n;
            }
            (errno, bytes) = (0, filled);
            return Encoding.UTF8.GetString(buffer, 0, filled);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    internal static string? TryReadText(string path, int maxBytes = 16 << 20) => TryReadText(path, out _, maxBytes);
}
