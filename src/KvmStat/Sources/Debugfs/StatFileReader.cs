using System.Buffers.Text;

namespace KvmStat.Sources.Debugfs;

/// <summary>
/// Reads one decimal number from a small kernel file (open, read, close) without allocating, from
/// any thread at once. Descriptors are not kept open: an open KVM debugfs file holds its VM alive
/// after it exits. Tests override it to produce errors root cannot otherwise see (EPERM under lockdown).
/// </summary>
internal class StatFileReader
{
    /// <summary>
    /// The number in <paramref name="nameZ"/> (NUL-terminated), relative to the open folder
    /// <paramref name="directory"/> (or AT_FDCWD). Returns 0 and the value, or an errno: EINVAL for
    /// text that is not one number, ERANGE for one beyond what a signed 64-bit count holds (never
    /// a wrapped or truncated number).
    /// </summary>
    internal virtual int TryReadInt64(int directory, byte[] nameZ, out long value)
    {
        value = 0;
        int fd = Interop.Libc.OpenAt(directory, nameZ, Interop.Abi.O_RDONLY | Interop.Abi.O_CLOEXEC);
        if (fd < 0)
            return -fd;
        Span<byte> buffer = stackalloc byte[32];
        nint n = Interop.Libc.ReadRetrying(fd, buffer);
        // A close of a descriptor only read from cannot lose anything.
        _ = Interop.Libc.Close(fd);
        if (n < 0)
            return (int)-n;
        // A number and its newline take at most 21 bytes: a full buffer holds something else.
        if (n == buffer.Length)
            return Interop.Errno.EINVAL;
        ReadOnlySpan<byte> text = buffer[..(int)n].TrimEnd("\n "u8);
        if (Utf8Parser.TryParse(text, out ulong unsigned, out int consumed) && consumed == text.Length)
        {
            if (unsigned > long.MaxValue)
                return Interop.Errno.ERANGE;
            value = (long)unsigned;
            return 0;
        }
        if (Utf8Parser.TryParse(text, out long signed, out consumed) && consumed == text.Length)
        {
            value = signed;
            return 0;
        }
        // Digits alone that parse as neither: a number too large for either.
        ReadOnlySpan<byte> digits = text.StartsWith("-"u8) ? text[1..] : text;
        return !digits.IsEmpty && digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0 ? Interop.Errno.ERANGE : Interop.Errno.EINVAL;
    }
}
