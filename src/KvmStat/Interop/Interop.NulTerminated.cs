using System.Text;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>A C string: the UTF-8 bytes of <paramref name="text"/> and a terminating NUL (paths, perf filters).</summary>
    internal static byte[] NulTerminated(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>The C string of <paramref name="text"/> into <paramref name="destination"/> (at least <see cref="NulTerminatedLength"/> bytes); returns its length with the NUL.</summary>
    internal static int NulTerminated(string text, Span<byte> destination)
    {
        int length = Encoding.UTF8.GetBytes(text, destination);
        destination[length] = 0;
        return length + 1;
    }

    internal static int NulTerminatedLength(string text) => Encoding.UTF8.GetMaxByteCount(text.Length) + 1;
}
