using System.Runtime.InteropServices;

namespace KvmStat;

internal static partial class Interop
{
    internal static partial class Libc
    {
        internal const uint ISIG = 0x1;
        internal const uint ICANON = 0x2;
        internal const uint ECHO = 0x8;
        internal const uint IEXTEN = 0x8000;
        internal const uint ICRNL = 0x100;
        internal const uint IXON = 0x400;
        internal const int VTIME = 5;
        internal const int VMIN = 6;
        internal const int TCSANOW = 0;
        internal const nuint TIOCGWINSZ = 0x5413;

        /// <summary>struct termios of glibc on Linux (60 bytes).</summary>
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
