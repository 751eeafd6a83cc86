using KvmStat.Output;

namespace KvmStat.Tests.Output;

/// <summary>-L's file as a tool run by root must open it in a folder others may write to.</summary>
public class OutputSinkTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-log-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void ANewLogIsARegularFileOfMode0640()
    {
        string path = Path.Join(_folder, "new.csv");
        using (OutputSink sink = OutputSink.AppendTo(path))
            sink.Write("x\n"u8);
        Assert.Equal("x\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(path));
    }

    /// <summary>
    /// A record cut short (the disk was full, the process killed mid-write) is cut back when the
    /// log is opened again, so that records go on from a whole line; whole logs are left as they
    /// are, and a last line no record begins like (other text, a banner) is ended, never cut.
    /// </summary>
    [Theory]
    [InlineData("a,1\nb,2\n2026", "a,1\nb,2\nc,3\n")]
    [InlineData("a,1\n2026-12-07 01:3", "a,1\nc,3\n")]
    [InlineData("a,1\n2026-12-07 01:30:00,5", "a,1\nc,3\n")]
    [InlineData("2026-12-07 0", "c,3\n")]
    [InlineData("{\"a\":1}\n{\"timest", "{\"a\":1}\nc,3\n")]
    [InlineData("{\"timestamp\":\"x\",\"fields\":{}}", "c,3\n")]
    [InlineData("a,1\nb,2\n", "a,1\nb,2\nc,3\n")]
    [InlineData("no newline", "no newline\nc,3\n")]
    [InlineData("notes\nimportant tail", "notes\nimportant tail\nc,3\n")]
    [InlineData("shopping\n2 apples and 3 pears", "shopping\n2 apples and 3 pears\nc,3\n")]
    [InlineData("shopping\n12:00 note", "shopping\n12:00 note\nc,3\n")]
    [InlineData("exits halt_ex", "exits halt_ex\nc,3\n")]
    [InlineData("", "c,3\n")]
    public void ARecordCutShortIsCutBackWhenTheLogIsOpenedAgain(string before, string after)
    {
        string path = Path.Join(_folder, "log.csv");
        File.WriteAllText(path, before);
        using (OutputSink sink = OutputSink.AppendTo(path))
            sink.Write("c,3\n"u8);
        Assert.Equal(after, File.ReadAllText(path));
    }

    /// <summary>
    /// A close that fails (NFS reports a write-back that failed there, EIO) may have lost records:
    /// at the end of a run it ends the run saying so; at a reopen (logrotate) it is said and records
    /// go on to the new file; a run that already failed keeps its own error (Dispose says nothing
    /// more). Here the sink holds a descriptor number no process can have open (above the
    /// open-file limit), whose close fails with EBADF.
    /// </summary>
    [Fact]
    public void ACloseThatFailsIsSaid()
    {
        string path = Path.Join(_folder, "log.csv");
        string said = $"closing \"{path}\" failed: Bad file descriptor; records written to it may not have reached it.";
        using (OutputSink sink = OutputSink.AppendTo(path))
        {
            BreakClose(sink);
            EnvironmentException e = Assert.Throws<EnvironmentException>(sink.Close);
            Assert.Equal(said, e.Message);
        }
        using (OutputSink sink = OutputSink.AppendTo(path))
        {
            BreakClose(sink);
            Assert.Equal(said + " Records go on to the file open now.", sink.Reopen());
            sink.Write("after\n"u8);
            Assert.Null(sink.Reopen());
            sink.Close();
        }
        Assert.Equal("after\n", File.ReadAllText(path));
        using (OutputSink sink = OutputSink.AppendTo(path))
            BreakClose(sink);
    }

    /// <summary>Puts a descriptor whose close fails in the sink's place, closing the real one.</summary>
    private static void BreakClose(OutputSink sink)
    {
        System.Reflection.FieldInfo file = typeof(OutputSink).GetField("_file", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)!;
        using (var real = (Interop.FileDescriptor)file.GetValue(sink)!)
            file.SetValue(sink, new Interop.FileDescriptor(1 << 30));
    }

    /// <summary>A full disk ends the run with the cause and the fix; the next run goes on from the last whole record.</summary>
    [Fact]
    public void AFullDiskSaysHowToGoOnAndTheNextRunAppendsWholeRecords()
    {
        string mount = Path.Join(_folder, "small");
        Directory.CreateDirectory(mount);
        Assert.SkipUnless(Environment.UserName == "root", "mounting a small tmpfs needs root");
        Assert.Equal(0, Infrastructure.ChildProcess.Run("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", mount], TimeSpan.FromSeconds(30)).Code);
        try
        {
            string path = Path.Join(mount, "log.csv"), filler = Path.Join(mount, "filler");
            File.WriteAllBytes(filler, new byte[8192]);
            byte[] record = "2026-12-06 23:07:10,1,2,3\n"u8.ToArray();
            void FillUp()
            {
                using OutputSink sink = OutputSink.AppendTo(path);
                while (true)
                    sink.Write(record);
            }
            var e = Assert.Throws<EnvironmentException>(FillUp);
            Assert.Equal($"cannot write to \"{path}\": No space left on device.", e.Message);
            Assert.StartsWith("Free space on its file system (or raise the quota), or log elsewhere", e.Fix);
            Assert.NotEqual('\n', File.ReadAllText(path)[^1]);
            File.Delete(filler);
            using (OutputSink sink = OutputSink.AppendTo(path))
                sink.Write("next\n"u8);
            string[] lines = File.ReadAllText(path).Split('\n');
            Assert.Equal("next", lines[^2]);
            Assert.All(lines[..^2], line => Assert.Equal("2026-12-06 23:07:10,1,2,3", line));
        }
        finally
        {
            Infrastructure.ChildProcess.Run("umount", [mount], TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>A link planted where the log goes (to /etc/passwd, say) is refused, and its target is not touched.</summary>
    [Fact]
    public void ASymbolicLinkIsRefused()
    {
        string target = Path.Join(_folder, "target");
        File.WriteAllText(target, "precious\n");
        string path = Path.Join(_folder, "log.csv");
        File.CreateSymbolicLink(path, target);
        var e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(path));
        Assert.Equal($"log file \"{path}\" is a symbolic link, not a regular file: not written to.", e.Message);
        Assert.Equal("precious\n", File.ReadAllText(target));
    }

    /// <summary>
    /// A link among the folders of the path is followed only if this user or root made it: another
    /// user's link to root's own folder would have root write, and cut, what is there.
    /// </summary>
    [Fact]
    public void AnotherUsersLinkAmongTheFoldersIsRefusedAndThisUsersFollowed()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to give the link to nobody");
        string victim = Path.Join(_folder, "victim");
        Directory.CreateDirectory(victim);
        File.WriteAllText(Path.Join(victim, "notes"), "line\ntail");
        string planted = Path.Join(_folder, "planted");
        File.CreateSymbolicLink(planted, victim);
        Assert.Equal(0, Lchown(planted, 65534, 65534));
        var e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(Path.Join(planted, "notes")));
        Assert.Equal($"the folder \"{planted}\" on the way to log file \"{planted}/notes\" is a symbolic link of uid 65534: not followed, not written to.", e.Message);
        Assert.Equal("line\ntail", File.ReadAllText(Path.Join(victim, "notes")));
        Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(Path.Join(_folder, "planted/../planted/new.log")));
        Assert.False(File.Exists(Path.Join(victim, "new.log")));
        // ".." after the link is the parent of its target, as the kernel goes: still through it, refused.
        Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(Path.Join(planted, "..", "dotdot.log")));
        Assert.False(File.Exists(Path.Join(_folder, "dotdot.log")));

        // This user's own links, relative and absolute, one after the other, are followed.
        File.CreateSymbolicLink(Path.Join(_folder, "mine"), "victim");
        File.CreateSymbolicLink(Path.Join(_folder, "chain"), Path.Join(_folder, "mine"));
        using (OutputSink sink = OutputSink.AppendTo(Path.Join(_folder, "chain", "own.log")))
            sink.Write("x\n"u8);
        Assert.Equal("x\n", File.ReadAllText(Path.Join(victim, "own.log")));
    }

    /// <summary>
    /// Another user's link in a sticky folder such as /tmp: the kernel refuses it with EACCES before
    /// O_NOFOLLOW counts, and the line still says what is there.
    /// </summary>
    [Fact]
    public void AnotherUsersLinkInAStickyFolderIsNamed()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to give the link to nobody");
        string sticky = Path.Join(_folder, "sticky");
        Directory.CreateDirectory(sticky);
        File.SetUnixFileMode(_folder, (UnixFileMode)0x1ed /* 0755 */);
        Assert.Equal(0, Chmod(sticky, 0x3ff /* 01777 */));
        string target = Path.Join(_folder, "target");
        File.WriteAllText(target, "precious\n");
        string path = Path.Join(sticky, "log.csv");
        File.CreateSymbolicLink(path, target);
        Assert.Equal(0, Lchown(path, 65534, 65534));
        var e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(path));
        Assert.Equal($"log file \"{path}\" is a symbolic link, not a regular file: not written to.", e.Message);
        Assert.Equal("precious\n", File.ReadAllText(target));
    }

    /// <summary>A hard link to another file (where fs.protected_hardlinks is off) is refused, and that file is not touched.</summary>
    [Fact]
    public void AFileWithASecondNameIsRefused()
    {
        string target = Path.Join(_folder, "target");
        File.WriteAllText(target, "precious\n");
        string path = Path.Join(_folder, "log.csv");
        Assert.Equal(0, Link(target, path));
        var e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(path));
        Assert.Equal($"log file \"{path}\" has 2 hard links: it may be another file's second name, so it is not written to.", e.Message);
        Assert.Equal("precious\n", File.ReadAllText(target));
        File.Delete(target);
        using (OutputSink sink = OutputSink.AppendTo(path))
            sink.Write("x\n"u8);
        Assert.Equal("precious\nx\n", File.ReadAllText(path));
    }

    /// <summary>
    /// A file another user made where the log goes (in a sticky folder such as /tmp) is theirs to
    /// read and rewrite, and may hold their records: refused, and left as it was.
    /// </summary>
    [Fact]
    public void AnotherUsersFileIsRefused()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to give the file to nobody");
        string path = Path.Join(_folder, "log.csv");
        File.WriteAllText(path, "2020-01-01 00:00:00,999999\n");
        Assert.Equal(0, Lchown(path, 65534, 65534));
        var e = Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(path));
        Assert.Equal($"log file \"{path}\" belongs to uid 65534, not to this user (uid 0): another user could read and rewrite it, so it is not written to.", e.Message);
        Assert.Equal("Give -L a path in a folder only you can write, or remove that file.", e.Fix);
        Assert.Equal("2020-01-01 00:00:00,999999\n", File.ReadAllText(path));
    }

    [Fact]
    public void AFifoOrADeviceIsRefusedWithoutWaiting()
    {
        string fifo = Path.Join(_folder, "fifo");
        Assert.Equal(0, Mkfifo(fifo, 0x1b6));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Contains("is a FIFO or device, not a regular file", Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo(fifo)).Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Contains("is a FIFO, device or socket, not a regular file", Assert.Throws<EnvironmentException>(() => OutputSink.AppendTo("/dev/null")).Message);
    }

    /// <summary>CSV header names that need it are quoted (RFC 4180): a name with a comma does not shift the columns.</summary>
    [Theory]
    [InlineData("kvm_exit", "kvm_exit")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    public void CsvNamesAreQuotedWhenTheyNeedIt(string name, string expected) => Assert.Equal(expected, CsvLogFormat.Quoted(name));

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "mkfifo")]
    private static extern int Mkfifo(string path, int mode);

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "chmod")]
    private static extern int Chmod(string path, int mode);

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "lchown")]
    private static extern int Lchown(string path, int owner, int group);

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "link")]
    private static extern int Link(string target, string path);
}
