using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>struct termios of glibc on Linux (60 bytes on x86-64 and arm64; checked against the headers).</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal unsafe struct Termios
        {
            internal uint InputFlags;
            internal uint OutputFlags;
            internal uint ControlFlags;
            internal uint LocalFlags;
            internal byte Line;
            internal fixed byte ControlChars[32];
            internal uint InputSpeed;
            internal uint OutputSpeed;
        }

        /// <summary>struct winsize.</summary>
        [StructLayout(LayoutKind.Sequential)]
        internal struct WindowSize
        {
            internal ushort Rows;
            internal ushort Columns;
            internal ushort XPixels;
            internal ushort YPixels;
        }
    }
}
