namespace KvmStat.Cli;

/// <summary>
/// Messages on stderr: warnings always, progress notes with --verbose. Every message has its
/// control characters made visible here too, whatever its parts escaped: a path or name from
/// another user that one message forgot to escape still cannot drive the terminal.
/// </summary>
internal sealed class Reporter(bool verbose, TextWriter error)
{
    private Action<string>? _screen;

    /// <summary>While the screen is open, messages go to it: stderr would write across the display.</summary>
    internal void ShowOn(Action<string>? screen) => _screen = screen;

    internal void Warn(string message)
    {
        message = Text.EscapeControls(message);
        if (_screen is not null)
            _screen(message);
        else
            error.WriteLine($"kvm_stat: {message}");
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
