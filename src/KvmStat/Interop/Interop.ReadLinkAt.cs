using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "readlinkat", SetLastError = true)]
        private static unsafe partial nint ReadLinkAtRaw(int directory, byte* path, byte* buffer, nuint size);

        /// <summary>
        /// readlinkat(2): what the link <paramref name="nameZ"/> (NUL-terminated, in an open
        /// directory) points to, into <paramref name="buffer"/> without a NUL (cut at its length);
        /// the bytes filled or -errno.
        /// </summary>
        internal static unsafe nint ReadLinkAt(int directory, ReadOnlySpan<byte> nameZ, Span<byte> buffer)
        {
            fixed (byte* name = nameZ)
            fixed (byte* p = buffer)
            {
                nint n;
                do
                    n = ReadLinkAtRaw(directory, name, p, (nuint)buffer.Length);
                while (Errno.Interrupted(ref n));
                return n;
            }
        }
    }
}
