using KvmStat.Exporter;
using KvmStat.Tests.Infrastructure;

namespace KvmStat.Tests.Exporter;

/// <summary>What makes the exporter read its web configuration again, and what a new file that cannot be used leaves in force.</summary>
public class WebConfigReloaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-reload-").FullName;
    private readonly List<string> _log = [];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string ConfigPath => Path.Join(_folder, "web.yml");

    private static string Users(string user) => $"basic_auth_users:\n  {user}: {WebConfigTests.SecretHash}\n";

    private static readonly DateTime s_sameTime = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    /// <summary>A file renamed over the configuration, of the same size and modification time (as a deployment tool leaves it): noticed by its inode.</summary>
    [Fact]
    public void AFileReplacedBySameSizeAndTimeIsNoticed()
    {
        File.WriteAllText(ConfigPath, Users("alice"));
        File.SetLastWriteTimeUtc(ConfigPath, s_sameTime);
        using var reloader = new WebConfigReloader(ConfigPath, WebConfig.Load(ConfigPath, TimeProvider.System), _log.Add, TimeProvider.System, watch: false);
        Assert.False(reloader.ReloadIfChanged());
        string replacement = Path.Join(_folder, "web.yml.new");
        File.WriteAllText(replacement, Users("carol"));
        File.SetLastWriteTimeUtc(replacement, s_sameTime);
        File.Move(replacement, ConfigPath, overwrite: true);
        Assert.True(reloader.ReloadIfChanged());
        Assert.Equal(["carol"], reloader.Current.Users.Keys);
        Assert.False(reloader.ReloadIfChanged());
    }

    /// <summary>
    /// A configuration that came through a pipe is read once, at start: a reload (SIGHUP) finds a
    /// FIFO with no writer and says so at once, the settings in force staying; it never waits
    /// (the main loop would hear no SIGTERM).
    /// </summary>
    [Fact]
    public async Task AReloadNeverWaitsOnAPipe()
    {
        string fifo = Path.Join(_folder, "web.fifo");
        Assert.Equal(0, ChildProcess.Run("mkfifo", [fifo], TimeSpan.FromSeconds(30)).Code);
        CancellationToken cancel = TestContext.Current.CancellationToken;
        // Opening a FIFO to write waits for its reader: on a thread of its own.
        Task write = Task.Run(() => File.WriteAllText(fifo, Users("alice")), cancel);
        WebConfig start = WebConfig.Load(fifo, TimeProvider.System);
        await write;
        using var reloader = new WebConfigReloader(fifo, start, _log.Add, TimeProvider.System, watch: false);
        Task<bool> reload = Task.Run(reloader.Reload, cancel);
        Assert.Same(reload, await Task.WhenAny(reload, Task.Delay(TimeSpan.FromSeconds(30), cancel)));
        Assert.False(await reload);
        Assert.Equal(["alice"], reloader.Current.Users.Keys);
        Assert.Contains("is not a regular file (a device or socket, or a FIFO)", Assert.Single(_log));
    }

    /// <summary>A header value that would fail every request: the reload is refused, the settings in force stay, one line says why.</summary>
    [Fact]
    public void AHeaderValueThatCannotBeSentKeepsTheSettingsInForce()
    {
        File.WriteAllText(ConfigPath, Users("alice"));
        using var reloader = new WebConfigReloader(ConfigPath, WebConfig.Load(ConfigPath, TimeProvider.System), _log.Add, TimeProvider.System, watch: false);
        File.WriteAllText(ConfigPath, Users("bob") + "http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\u007fb\"\n");
        Assert.False(reloader.Reload());
        Assert.Equal(["alice"], reloader.Current.Users.Keys);
        Assert.False(reloader.LastReloadSucceeded);
        string line = Assert.Single(_log);
        Assert.Contains("not reloaded, the settings in force stay", line);
        Assert.Contains("line 5: the value of Content-Security-Policy holds a control or non-ASCII character", line);
    }

    /// <summary>
    /// Each reload says what is in force; a file emptied of its users (as an editor leaves it half
    /// written) never turns basic authentication off while serving.
    /// </summary>
    [Fact]
    public void AReloadSaysWhatIsInForceAndNeverDropsAuthentication()
    {
        File.WriteAllText(ConfigPath, Users("alice"));
        using var reloader = new WebConfigReloader(ConfigPath, WebConfig.Load(ConfigPath, TimeProvider.System), _log.Add, TimeProvider.System, watch: false);
        File.WriteAllText(ConfigPath, Users("bob").TrimEnd() + "\n  carol: " + WebConfigTests.SecretHash + "\n");
        Assert.True(reloader.Reload());
        Assert.Equal(["the web configuration was reloaded: plain HTTP, basic authentication for 2 users."], _log);

        File.WriteAllText(ConfigPath, "");
        Assert.False(reloader.Reload());
        Assert.Equal(["bob", "carol"], reloader.Current.Users.Keys.Order());
        Assert.Equal($"the web configuration was not reloaded, the settings in force stay: --web-config-file {ConfigPath}: basic authentication cannot be turned off while serving (restart kvm_stat for that).", _log[^1]);
    }
}
