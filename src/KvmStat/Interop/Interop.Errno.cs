using System.Numerics;
using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>
    /// Error numbers. Every wrapper in Interop returns its result, or the error as a negative
    /// number (-errno), like the kernel's own calls: no wrapper leaves it to a later lookup.
    /// </summary>
    internal static class Errno
    {
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int ESRCH = 3;
        internal const int EINTR = 4;
        internal const int EIO = 5;
        internal const int ENXIO = 6;
        internal const int EBADF = 9;
        internal const int EAGAIN = 11;
        internal const int EACCES = 13;
        internal const int EEXIST = 17;
        internal const int ENODEV = 19;
        internal const int ENOTDIR = 20;
        internal const int EINVAL = 22;
        internal const int ENFILE = 23;
        internal const int EMFILE = 24;
        internal const int ENOSPC = 28;
        internal const int EPIPE = 32;
        internal const int ERANGE = 34;
        internal const int ENOSYS = 38;
        internal const int ELOOP = 40;
        internal const int EOPNOTSUPP = 95;
        internal const int EDQUOT = 122;

        /// <summary>The errno a call with SetLastError left, for the wrappers' own use.</summary>
        internal static int Last => Marshal.GetLastPInvokeError();

        internal static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

        /// <summary>
        /// Makes a call's result the wrapper's: unchanged where the call succeeded, -errno where it
        /// failed (returned a negative number). True where a signal interrupted the call (EINTR):
        /// the wrapper makes it again, so no caller ever sees EINTR.
        /// </summary>
        internal static bool Interrupted<T>(ref T result)
            where T : IBinaryInteger<T>
        {
            if (!T.IsNegative(result))
                return false;
            int errno = Last;
            result = T.CreateTruncating(-errno);
            return errno == EINTR;
        }
    }
}
