using System.Diagnostics;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A real terminal: a tmux server of its own (private socket) with one pane running a shell.
/// Tests type into it with send-keys and read it with capture-pane; the server is killed at the end.
/// </summary>
internal sealed class TmuxPane : IDisposable
{
    private readonly string _socket = $"kvm_stat-test-{Environment.ProcessId}-{Guid.NewGuid():N}";
    private readonly string _socketPath;

    internal TmuxPane(int columns, int rows)
    {
        Run("new-session", "-d", "-x", columns.ToString(), "-y", rows.ToString(), "env", "PS1=$ ", "TERM=xterm-256color",
            "bash", "--norc", "--noprofile");
        _socketPath = Run("display-message", "-p", "#{socket_path}").Trim();
        Run("set-option", "-g", "status", "off");
        WaitFor(lines => lines.Any(l => l.StartsWith('$')), "the shell prompt");
    }

    internal static bool Available => File.Exists("/usr/bin/tmux");

    internal string Run(params string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-L");
        info.ArgumentList.Add(_socket);
        foreach (string arg in args)
            info.ArgumentList.Add(arg);
        using Process process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {error}");
        return output;
    }

    /// <summary>Types text and presses Enter.</summary>
    internal void Type(string line)
    {
        Run("send-keys", "-l", line);
        Run("send-keys", "Enter");
    }

    internal void Keys(params string[] keys) => Run(["send-keys", .. keys]);

    internal string[] Screen() => Run("capture-pane", "-p").TrimEnd('\n').Split('\n');

    /// <summary>The pane's screen with escape sequences for attributes (to see bold and reverse video).</summary>
    internal string ScreenWithAttributes() => Run("capture-pane", "-p", "-e");

    internal bool AlternateScreen => Run("display-message", "-p", "#{alternate_on}").Trim() == "1";

    internal int ShellPid => int.Parse(Run("display-message", "-p", "#{pane_pid}").Trim());

    internal void Resize(int columns, int rows) => Run("resize-window", "-x", columns.ToString(), "-y", rows.ToString());

    /// <summary>Waits until the screen satisfies <paramref name="condition"/> (polling capture-pane).</summary>
    internal string[] WaitFor(Func<string[], bool> condition, string what, double seconds = 20)
    {
        var clock = Stopwatch.StartNew();
        string[] screen = Screen();
        while (!condition(screen))
        {
            if (clock.Elapsed.TotalSeconds > seconds)
                throw new TimeoutException($"{what}: not on screen after {seconds} s. Screen:\n{string.Join('\n', screen)}");
            Thread.Sleep(50);
            screen = Screen();
        }
        return screen;
    }

    public void Dispose()
    {
        try
        {
            Run("kill-server");
        }
        catch (InvalidOperationException)
        {
        }
        // The server leaves its socket file behind.
        if (_socketPath.Length > 0)
            File.Delete(_socketPath);
    }
}
