using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        [LibraryImport(Libraries.Libc, EntryPoint = "statx", SetLastError = true)]
        private static unsafe partial int StatxRaw(int dirfd, byte* path, int flags, uint mask, byte* buffer);

        /// <summary>
        /// The file type bits (S_IFMT), the number of hard links and the owner of an open descriptor,
        /// from statx(2) (its layout is the same on every architecture); or -errno as the type.
        /// </summary>
        internal static unsafe (int Type, uint Links, uint Owner) FileTypeLinksAndOwner(int fd)
        {
            byte* buffer = stackalloc byte[Abi.StatxSize];
            byte empty = 0;
            if (StatxRaw(fd, &empty, Abi.AT_EMPTY_PATH, (uint)(Abi.STATX_TYPE | Abi.STATX_NLINK | Abi.STATX_UID), buffer) != 0)
                return (-Errno.Last, 0, 0);
            return (*(ushort*)(buffer + Abi.StatxModeOffset) & Abi.S_IFMT, *(uint*)(buffer + Abi.StatxLinksOffset), *(uint*)(buffer + Abi.StatxUidOffset));
        }

        /// <summary>The file type bits of what is at a path, a symbolic link not followed (or followed); or -errno.</summary>
        internal static unsafe int PathType(string path, bool followLink = false)
        {
            byte* buffer = stackalloc byte[Abi.StatxSize];
            fixed (byte* name = NulTerminated(path))
            {
                if (StatxRaw(Abi.AT_FDCWD, name, followLink ? 0 : Abi.AT_SYMLINK_NOFOLLOW, (uint)Abi.STATX_TYPE, buffer) != 0)
                    return -Errno.Last;
            }
            return *(ushort*)(buffer + Abi.StatxModeOffset) & Abi.S_IFMT;
        }

        /// <summary>The file type bits and owner of what is at a path, a symbolic link not followed; -errno as the type.</summary>
        internal static unsafe (int Type, uint Owner) PathTypeAndOwner(string path)
        {
            byte* buffer = stackalloc byte[Abi.StatxSize];
            fixed (byte* name = NulTerminated(path))
            {
                if (StatxRaw(Abi.AT_FDCWD, name, Abi.AT_SYMLINK_NOFOLLOW, (uint)(Abi.STATX_TYPE | Abi.STATX_UID), buffer) != 0)
                    return (-Errno.Last, 0);
            }
            return (*(ushort*)(buffer + Abi.StatxModeOffset) & Abi.S_IFMT, *(uint*)(buffer + Abi.StatxUidOffset));
        }

        /// <summary>
        /// What tells one version of a file from another (a link followed): device, inode, size and
        /// modification time to the nanosecond; null when it cannot be looked at.
        /// </summary>
        internal static unsafe (ulong Device, ulong Inode, ulong Size, long Seconds, uint Nanoseconds)? FileVersion(string path)
        {
            fixed (byte* name = NulTerminated(path))
                return FileVersion(Abi.AT_FDCWD, name, 0);
        }

        /// <summary>The same of an open descriptor.</summary>
        internal static unsafe (ulong Device, ulong Inode, ulong Size, long Seconds, uint Nanoseconds)? FileVersion(int fd)
        {
            byte empty = 0;
            return FileVersion(fd, &empty, Abi.AT_EMPTY_PATH);
        }

        private static unsafe (ulong Device, ulong Inode, ulong Size, long Seconds, uint Nanoseconds)? FileVersion(int dirfd, byte* name, int flags)
        {
            byte* buffer = stackalloc byte[Abi.StatxSize];
            if (StatxRaw(dirfd, name, flags, Abi.STATX_BASIC_STATS, buffer) != 0)
                return null;
            ulong device = (ulong)*(uint*)(buffer + Abi.StatxDeviceMajorOffset) << 32 | *(uint*)(buffer + Abi.StatxDeviceMinorOffset);
            byte* modified = buffer + Abi.StatxModifiedOffset;
            return (device, *(ulong*)(buffer + Abi.StatxInodeOffset), *(ulong*)(buffer + Abi.StatxSizeOffset), *(long*)modified,
                *(uint*)(modified + Abi.StatxTimestampNanosecondsOffset));
        }
    }
}
