namespace KvmStat.Tui;

internal enum KeyKind
{
    Char,
    Enter,
    Escape,
    Backspace,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Interrupt,
    Other,
}
