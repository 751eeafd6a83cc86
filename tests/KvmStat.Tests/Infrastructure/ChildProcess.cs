using System.Diagnostics;
using System.Runtime.InteropServices;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A process a test starts (the published kvm_stat, the test guest, QEMU): its output lines are
/// collected, and it is always ended when the test is done, whatever happens.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    internal const int SIGHUP = 1;
    internal const int SIGINT = 2;
    internal const int SIGKILL = 9;
    internal const int SIGUSR1 = 10;
    internal const int SIGTERM = 15;

    private readonly Process _process;

    private ChildProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => Output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => Error.Add(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    internal LineCollector Output { get; } = new();

    internal LineCollector Error { get; } = new();

    internal int Pid => _process.Id;

    internal static ChildProcess Start(string file, IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        return new ChildProcess(Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}"));
    }

    internal static ChildProcess StartTool(params string[] args) => Start(PublishedBinary.Path, args);

    /// <summary>Runs the published binary to its end.</summary>
    internal static (int Code, string Output, string Error) RunTool(TimeSpan timeout, params string[] args) =>
        RunTool(timeout, null, args);

    internal static (int Code, string Output, string Error) RunTool(TimeSpan timeout, IDictionary<string, string>? environment, params string[] args) =>
        Run(PublishedBinary.Path, args, timeout, environment: environment);

    /// <summary>Runs a program to its end, with <paramref name="input"/> (if any) on its standard input.</summary>
    internal static (int Code, string Output, string Error) Run(string file, IEnumerable<string> args, TimeSpan timeout,
        string? input = null, IDictionary<string, string>? environment = null)
    {
        using ChildProcess process = Start(file, args, environment);
        if (input is not null)
            process._process.StandardInput.Write(input);
        process.CloseInput();
        int code = process.WaitForExit(timeout);
        return (code, process.Output.Text, process.Error.Text);
    }

    /// <summary>Waits for the published binary's --verbose line that follows its first sample.</summary>
    internal void WaitUntilCounting() =>
        Error.WaitForLine(l => l.EndsWith("counting started", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "kvm_stat counting started");

    internal void WriteLine(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    internal void CloseInput() => _process.StandardInput.Close();

    internal void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    /// <summary>Waits for the exit and for the end of its output streams; returns the exit status.</summary>
    internal int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            throw new TimeoutException($"process {_process.Id} still running after {timeout}. Output:\n{Output.Text}\nErrors:\n{Error.Text}");
        _process.WaitForExit();
        return _process.ExitCode;
    }

    internal bool HasExited => _process.HasExited;

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
        }
        _process.Dispose();
    }

    [LibraryImport("libc.so.6", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
