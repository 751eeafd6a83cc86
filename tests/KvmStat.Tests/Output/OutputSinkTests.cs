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
}
