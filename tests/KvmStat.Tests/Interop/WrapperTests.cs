using System.Runtime.InteropServices;
using System.Text;

namespace KvmStat.Tests.Native; // the folder Interop/ (a namespace of that name would hide the class Interop)

/// <summary>The wrappers' convention (result or -errno) and what callers rely on: whole writes, owned descriptors.</summary>
public class WrapperTests
{
    [Fact]
    public async Task WritesAreWholeAndReadsSeeThem()
    {
        Assert.Equal(0, KvmStat.Interop.Libc.Pipe2(out int readEnd, out int writeEnd));
        using var reader = new KvmStat.Interop.FileDescriptor(readEnd);
        using (var writer = new KvmStat.Interop.FileDescriptor(writeEnd))
        {
            // More than one write() of a pipe takes at once is still written whole (a reader drains it).
            byte[] data = Encoding.ASCII.GetBytes(new string('x', 200_000));
            var drain = Task.Run(() =>
            {
                var received = new MemoryStream();
                byte[] buffer = new byte[65536];
                nint n;
                while ((n = KvmStat.Interop.Libc.ReadRetrying(readEnd, buffer)) > 0)
                    received.Write(buffer, 0, (int)n);
                return (received.Length, n);
            });
            Assert.Equal(0, KvmStat.Interop.Libc.WriteAll(writer.Number, data));
            writer.Dispose();
            (long length, nint last) = await drain;
            Assert.Equal(data.Length, length);
            Assert.Equal(0, last);
        }
    }

    [Fact]
    public void ErrorsComeBackAsNegativeErrnos()
    {
        Assert.Equal(-KvmStat.Interop.Errno.EBADF, KvmStat.Interop.Libc.WriteAll(987_654, "x"u8));
        Assert.Equal(-KvmStat.Interop.Errno.EBADF, (int)KvmStat.Interop.Libc.ReadRetrying(987_654, new byte[4]));
        Assert.Equal(-KvmStat.Interop.Errno.ENOENT, KvmStat.Interop.Libc.Open(KvmStat.Interop.NulTerminated("/no/such/file"), KvmStat.Interop.Abi.O_RDONLY));
        Assert.Equal(-KvmStat.Interop.Errno.EBADF, KvmStat.Interop.Libc.Close(987_654));
        Assert.Equal(-KvmStat.Interop.Errno.ENOTDIR, KvmStat.Interop.Libc.Open(KvmStat.Interop.NulTerminated("/etc/hostname"),
            KvmStat.Interop.Abi.O_RDONLY | KvmStat.Interop.Abi.O_DIRECTORY));
        Assert.Equal("No such file or directory", KvmStat.Interop.Errno.Describe(KvmStat.Interop.Errno.ENOENT));
    }

    /// <summary>Every wrapper that loops asks this one question: a signal (EINTR) means "call again", any other failure is -errno.</summary>
    [Fact]
    public void AnInterruptedCallIsMadeAgainAndAFailureBecomesMinusErrno()
    {
        nint interrupted = -1;
        Marshal.SetLastPInvokeError(KvmStat.Interop.Errno.EINTR);
        Assert.True(KvmStat.Interop.Errno.Interrupted(ref interrupted));

        long failed = -1;
        Marshal.SetLastPInvokeError(KvmStat.Interop.Errno.EAGAIN);
        Assert.False(KvmStat.Interop.Errno.Interrupted(ref failed));
        Assert.Equal(-KvmStat.Interop.Errno.EAGAIN, failed);

        // A result of 0 or more is the call's answer, whatever errno a call before left.
        int descriptor = 7;
        Marshal.SetLastPInvokeError(KvmStat.Interop.Errno.EINTR);
        Assert.False(KvmStat.Interop.Errno.Interrupted(ref descriptor));
        Assert.Equal(7, descriptor);
    }

    [Fact]
    public void AnOwnedDescriptorIsClosedOnceByItsOwner()
    {
        int fd = KvmStat.Interop.Libc.Open(KvmStat.Interop.NulTerminated("/etc/hostname"), KvmStat.Interop.Abi.O_RDONLY | KvmStat.Interop.Abi.O_CLOEXEC);
        Assert.True(fd >= 0);
        var owned = new KvmStat.Interop.FileDescriptor(fd);
        Assert.True(KvmStat.Interop.Libc.ReadRetrying(owned.Number, new byte[8]) > 0);
        owned.Dispose();
        owned.Dispose();
        Assert.Equal(-KvmStat.Interop.Errno.EBADF, (int)KvmStat.Interop.Libc.ReadRetrying(fd, new byte[8]));
    }

    [Fact]
    public void CStringsAreUtf8WithOneNul()
    {
        Assert.Equal("/tmp/é\0"u8.ToArray(), KvmStat.Interop.NulTerminated("/tmp/é"));
        byte[] buffer = new byte[KvmStat.Interop.NulTerminatedLength("ab")];
        Assert.Equal(3, KvmStat.Interop.NulTerminated("ab", buffer));
        Assert.Equal("ab\0"u8.ToArray(), buffer[..3]);
    }
}
