using System.Globalization;

namespace KvmStat.Tui;

[Flags]
internal enum TextStyle : byte
{
    None = 0,
    Bold = 1,
    Reverse = 2,
    Underline = 4,
}
