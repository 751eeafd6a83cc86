using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    /// <summary>
    /// A descriptor this process owns and keeps across calls (a log file, a copied statistics
    /// descriptor, a pidfd): closed exactly once, by <see cref="SafeHandle.Dispose()"/> or, if that is
    /// forgotten, by the finalizer. Descriptors opened and closed within one call stay plain numbers.
    /// </summary>
    internal sealed class FileDescriptor : SafeHandle
    {
        internal FileDescriptor(int fd)
            : base(invalidHandleValue: -1, ownsHandle: true) => SetHandle(fd);

        public override bool IsInvalid => handle < 0;

        /// <summary>The descriptor's number, for calls made while this object is held.</summary>
        internal int Number => (int)handle;

        /// <summary>
        /// Closes it now; 0, or -errno for an owner that must know (a log file: close(2) can report
        /// a write-back that failed, EIO on NFS). Dispose and the finalizer close without asking.
        /// </summary>
        internal int CloseReporting()
        {
            if (IsClosed || IsInvalid)
                return 0;
            int fd = (int)handle;
            SetHandleAsInvalid();
            return Libc.Close(fd);
        }

        protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
    }
}
