namespace KvmStat.Exporter;

/// <summary>
/// The web configuration in force, read again on SIGHUP and when the file, or a certificate, key or
/// CA file it names, changes (looked at once a second): renewed certificates and new users take
/// effect without a restart, and without the listener closing. A new file that cannot be used
/// leaves the settings in force as they were, is named in one line, and shows in
/// kvm_stat_web_config_last_reload_successful 0 until a reload succeeds.
/// </summary>
internal sealed class WebConfigReloader : IDisposable
{
    private static readonly TimeSpan s_watch = TimeSpan.FromSeconds(1);

    private readonly string _path;
    private readonly Action<string> _warn;
    private readonly TimeProvider _time;
    private readonly object _lock = new();
    private readonly ITimer? _watcher;
    private WebConfig _current;
    private string _fingerprint;

    internal WebConfigReloader(string path, WebConfig initial, Action<string> warn, TimeProvider time, bool watch = true)
    {
        _path = path;
        _current = initial;
        _warn = warn;
        _time = time;
        _fingerprint = Fingerprint(initial.Files);
        LastSuccess = time.GetUtcNow();
        if (watch)
            // Whether it reloaded is in the log already (Reload says each outcome); a failure other
            // than the file's is an internal error, which the process's handler reports.
            _watcher = time.CreateTimer(_ => _ = ReloadIfChanged(), null, s_watch, s_watch);
    }

    internal WebConfig Current => Volatile.Read(ref _current);

    internal bool LastReloadSucceeded { get; private set; } = true;

    internal DateTimeOffset LastSuccess { get; private set; }

    /// <summary>Counts reloads tried, so that a formatted exposition that shows their outcome is not reused past one.</summary>
    internal int Attempts { get; private set; }

    /// <summary>Reads the file again (SIGHUP); returns whether the new settings are in force.</summary>
    internal bool Reload()
    {
        lock (_lock)
        {
            Attempts++;
            string fingerprint = Fingerprint([_path, .. _current.Files.Skip(1)]);
            WebConfig next;
            try
            {
                next = WebConfig.Load(_path, _time, reload: true);
                if (next.UsesTls != _current.UsesTls)
                    throw new EnvironmentException($"--web-config-file {Text.Escape(_path)}: TLS cannot be turned {(next.UsesTls ? "on" : "off")} while serving (restart kvm_stat for that).");
                // A file caught half written (an editor that empties it, then writes) must not open the door.
                if (next.Users.Count == 0 && _current.Users.Count > 0)
                    throw new EnvironmentException($"--web-config-file {Text.Escape(_path)}: basic authentication cannot be turned off while serving (restart kvm_stat for that).");
            }
            catch (EnvironmentException e)
            {
                // Not tried again until something changes: one line per broken version, not one a second.
                _fingerprint = fingerprint;
                LastReloadSucceeded = false;
                _warn($"the web configuration was not reloaded, the settings in force stay: {e.Message}");
                return false;
            }
            if (!next.Notes.SequenceEqual(_current.Notes))
            {
                foreach (string note in next.Notes)
                    _warn(note);
            }
            Volatile.Write(ref _current, next);
            _fingerprint = Fingerprint(next.Files);
            // What is in force from now on, in the log: a change of who may scrape is never silent.
            _warn($"the web configuration was reloaded: {(next.UsesTls ? "TLS" : "plain HTTP")}, " +
                (next.Users.Count == 0 ? "no basic authentication." : $"basic authentication for {next.Users.Count} user{(next.Users.Count == 1 ? "" : "s")}."));
            LastReloadSucceeded = true;
            LastSuccess = _time.GetUtcNow();
            return true;
        }
    }

    /// <summary>Reloads when one of the files is another version than the one read (the watcher's check); returns whether it reloaded.</summary>
    internal bool ReloadIfChanged()
    {
        lock (_lock)
        {
            if (Fingerprint([_path, .. _current.Files.Skip(1)]) == _fingerprint)
                return false;
        }
        return Reload();
    }

    /// <summary>
    /// What identifies the files' versions: device, inode, size and modification time (to the
    /// nanosecond) of each, links followed (a missing file counts too). A file replaced by another
    /// of the same size and time (a rename over it, as deployment tools do) is a new inode.
    /// </summary>
    private static string Fingerprint(IEnumerable<string> files) => string.Join('|', files.Select(file =>
        Interop.Libc.FileVersion(file) is { } v ? $"{v.Device}:{v.Inode}:{v.Size}:{v.Seconds}.{v.Nanoseconds}" : "absent"));

    public void Dispose() => _watcher?.Dispose();
}
