using System.Globalization;
using System.Text;
using CsCheck;
using KvmStat.Sources.Debugfs;

namespace KvmStat.Tests.Sources.Debugfs;

/// <summary>A debugfs value is one number, read exactly, or an error: never a truncated or wrapped number.</summary>
public class StatFileReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("kvm_stat-stat-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (int Errno, long Value) Read(byte[] content)
    {
        // CsCheck samples on several threads at once: a file each.
        string path = Path.Join(_folder, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, content);
        int errno = new StatFileReader().TryReadInt64(Interop.Abi.AT_FDCWD, Interop.NulTerminated(path), out long value);
        return (errno, value);
    }

    [Theory]
    [InlineData("42\n", 0, 42L)]
    [InlineData("-3\n", 0, -3L)]
    [InlineData("9223372036854775807\n", 0, long.MaxValue)]
    [InlineData("9223372036854775808\n", Interop.Errno.ERANGE, 0L)]
    [InlineData("18446744073709551615\n", Interop.Errno.ERANGE, 0L)]
    [InlineData("18446744073709551616\n", Interop.Errno.ERANGE, 0L)]
    [InlineData("-9223372036854775809\n", Interop.Errno.ERANGE, 0L)]
    [InlineData("-\n", Interop.Errno.EINVAL, 0L)]
    [InlineData("12 34\n", Interop.Errno.EINVAL, 0L)]
    [InlineData("garbage\n", Interop.Errno.EINVAL, 0L)]
    [InlineData("", Interop.Errno.EINVAL, 0L)]
    [InlineData("12345                                        9\n", Interop.Errno.EINVAL, 0L)]
    public void ReadsOneNumberOrSaysWhyNot(string content, int errno, long value) =>
        Assert.Equal((errno, value), Read(Encoding.ASCII.GetBytes(content)));

    [Fact]
    public void AnyContentIsItsNumberOrAnError()
    {
        Gen<byte[]> content = Gen.OneOf(
            Gen.Byte.Array[0, 40],
            Gen.Long.Select(n => Encoding.ASCII.GetBytes(n.ToString(CultureInfo.InvariantCulture) + "\n")),
            Gen.ULong.Select(n => Encoding.ASCII.GetBytes(n.ToString(CultureInfo.InvariantCulture) + "\n")));
        content.Sample(bytes =>
        {
            (int errno, long value) = Read(bytes);
            string text = Encoding.Latin1.GetString(bytes).TrimEnd('\n', ' ');
            bool isNumber = bytes.Length < 32 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long expected)
                && text.Length > 0 && text.TrimStart('-').All(char.IsAsciiDigit);
            if (errno == 0)
            {
                Assert.True(isNumber, $"\"{text}\" read as {value}");
                Assert.Equal(long.Parse(text, CultureInfo.InvariantCulture), value);
            }
        }, iter: 500);
    }
}
