namespace KvmStat.Cli;

/// <summary>Messages on stderr: warnings always, progress notes with --verbose.</summary>
internal sealed class Reporter(bool verbose, TextWriter error)
{
    internal void Warn(string message) => error.WriteLine($"kvm_stat: {message}");

    internal void Verbose(string message)
    {
        if (verbose)
            error.WriteLine($"kvm_stat: {message}");
    }

    internal Action<string>? VerboseOrNull => verbose ? Verbose : null;

    internal static void Report(KvmStatException e, TextWriter error)
    {
        error.WriteLine($"kvm_stat: error: {e.Message}");
        if (e.Fix is not null)
            error.WriteLine($"kvm_stat: {e.Fix}");
    }
}
