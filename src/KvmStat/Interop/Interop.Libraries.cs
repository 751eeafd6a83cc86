namespace KvmStat;

internal static partial class Interop
{
    internal static class Libraries
    {
        // The versioned soname: a bare "libc" makes the runtime probe many paths and
        // dlopen glibc's linker script before it finds the real library.
        internal const string Libc = "libc.so.6";
    }
}
