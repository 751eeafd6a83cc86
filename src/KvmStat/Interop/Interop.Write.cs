using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "write", SetLastError = true)]
        private static unsafe partial nint Write(int fd, byte* buffer, nuint count);

        /// <summary>Writes all of <paramref name="data"/>, retrying on EINTR and short writes; 0 or -errno.</summary>
        internal static unsafe int WriteAll(int fd, ReadOnlySpan<byte> data)
        {
            fixed (byte* start = data)
            {
                byte* p = start;
                nuint left = (nuint)data.Length;
                while (left > 0)
                {
                    nint n = Write(fd, p, left);
                    if (Errno.Interrupted(ref n))
                        continue;
                    if (n < 0)
                        return (int)n;
                    p += n;
                    left -= (nuint)n;
                }
            }
            return 0;
        }
    }
}
