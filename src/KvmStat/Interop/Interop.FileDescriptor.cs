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

        protected override bool ReleaseHandle() => Libc.Close((int)handle) == 0;
    }
}
