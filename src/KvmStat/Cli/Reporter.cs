namespace KvmStat.Cli;

/// <summary>
/// Messages on stderr: warnings always, progress notes with --verbose. Every message has its
/// control characters made visible here too, whatever its parts escaped: a path or name from
/// another user that one message forgot to escape still cannot drive the terminal.
/// </summary>
internal sealed class Reporter(bool verbose, TextWriter error)
{
    private Action<string>? _screen;
    // Warnings the screen showed, said again on stderr once it has closed: its last row holds one,
    // cut at the terminal's width, and the next replaces it.
    private readonly List<string> _shown = [];
    private const int MaxShown = 20;

    /// <summary>
    /// While the screen is open, messages go to it: stderr would write across the display. Once it
    /// is closed (null), the warnings it showed are written to stderr, each once.
    /// </summary>
    internal void ShowOn(Action<string>? screen)
    {
        _screen = screen;
        if (screen is not null)
            return;
        foreach (string message in _shown)
            error.WriteLine($"kvm_stat: {message}");
        _shown.Clear();
    }

    internal void Warn(string message)
    {
        message = Text.EscapeControls(message);
        if (_screen is null)
        {
            error.WriteLine($"kvm_stat: {message}");
            return;
        }
        _screen(message);
        if (_shown.Count < MaxShown && !_shown.Contains(message))
            _shown.Add(message);
    }

    internal void Verbose(string message)
    {
        if (!verbose)
            return;
        message = Text.EscapeControls(message);
        if (_screen is not null)
            _screen(message);
        else
            error.WriteLine($"kvm_stat: {message}");
    }

    internal Action<string>? VerboseOrNull => verbose ? Verbose : null;

    internal static void Report(KvmStatException e, TextWriter error)
    {
        error.WriteLine($"kvm_stat: error: {Text.EscapeControls(e.Message)}");
        if (e.Fix is not null)
            error.WriteLine($"kvm_stat: {Text.EscapeControls(e.Fix)}");
    }
}
