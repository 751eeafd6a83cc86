namespace KvmStat.Tui;

/// <summary>
/// The real terminal: raw keyboard input (no echo, no line editing; Ctrl-C still sends SIGINT),
/// the alternate screen with the cursor hidden, its size, and frames written with one write().
/// Whatever happens, <see cref="Dispose"/> gives the terminal back as it was.
/// </summary>
internal sealed class AnsiTerminal : IDisposable
{
    private const int Input = 0;
    private const int Output = 1;
    private const string Enter = "\x1b[?1049h\x1b[?25l\x1b[?7l\x1b[H\x1b[2J";
    private const string Leave = "\x1b[0m\x1b[?7h\x1b[?25h\x1b[?1049l";

    private readonly Interop.Libc.Termios _saved;
    private readonly object _lock = new();
    private bool _active;

    private AnsiTerminal(Interop.Libc.Termios saved) => _saved = saved;

    /// <summary>A plain error when standard output is not a terminal (checked before counters are opened too).</summary>
    internal static void RequireTerminalOutput()
    {
        if (Interop.Libc.IsATty(Output) != 1)
            throw new UsageException(
                "standard output is not a terminal, and the interactive screen needs one.",
                "Use -1 for one sample, or -l (or -L FILE) to log.");
    }

    /// <summary>The terminal on standard input and output; a plain error when there is none.</summary>
    internal static AnsiTerminal Open()
    {
        RequireTerminalOutput();
        if (Interop.Libc.IsATty(Input) != 1 || Interop.Libc.TcGetAttr(Input, out Interop.Libc.Termios saved) != 0)
            throw new UsageException(
                "standard input is not a terminal, and the interactive screen reads its keys from it.",
                "Use -1 for one sample, or -l (or -L FILE) to log.");
        var terminal = new AnsiTerminal(saved);
        terminal.Activate();
        return terminal;
    }

    /// <summary>Takes the terminal: raw input, alternate screen. Also after a stop (SIGCONT).</summary>
    internal unsafe void Activate()
    {
        lock (_lock)
        {
            Interop.Libc.Termios raw = _saved;
            raw.LocalFlags &= ~(Interop.Abi.ICANON | Interop.Abi.ECHO | Interop.Abi.IEXTEN);
            raw.InputFlags &= ~(Interop.Abi.ICRNL | Interop.Abi.IXON);
            raw.ControlChars[Interop.Abi.VMIN] = 1;
            raw.ControlChars[Interop.Abi.VTIME] = 0;
            // A terminal that refuses raw mode still shows the screen; keys then come a line at a time.
            _ = Interop.Libc.TcSetAttr(Input, Interop.Abi.TCSANOW, raw);
            WriteText(Enter);
            _active = true;
        }
    }

    /// <summary>Gives the terminal back as it was found.</summary>
    internal void Deactivate()
    {
        lock (_lock)
        {
            if (!_active)
                return;
            WriteText(Leave);
            // Nothing is left to tell when the terminal cannot be given back (it has gone).
            _ = Interop.Libc.TcSetAttr(Input, Interop.Abi.TCSANOW, _saved);
            _active = false;
        }
    }

    internal (int Rows, int Columns) QuerySize()
    {
        unsafe
        {
            Interop.Libc.WindowSize size;
            if (Interop.Libc.Ioctl(Output, Interop.Abi.TIOCGWINSZ, (nint)(&size)) == 0 && size.Rows > 0 && size.Columns > 0)
                return (size.Rows, size.Columns);
        }
        return (24, 80);
    }

    internal void Write(ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            // A terminal that is gone (hung up) cannot show an error either: SIGHUP ends the screen.
            if (_active)
                _ = Interop.Libc.WriteAll(Output, frame);
        }
    }

    // Entering or leaving the alternate screen, best effort: a terminal that is gone has no screen
    // to switch back, and nothing else is lost with it.
    private static void WriteText(string text) =>
        _ = Interop.Libc.WriteAll(Output, System.Text.Encoding.ASCII.GetBytes(text));

    public void Dispose() => Deactivate();
}
