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

    /// <summary>Ctrl-U: erases the prompt's line, as in a shell.</summary>
    ClearLine,
    Other,
}
