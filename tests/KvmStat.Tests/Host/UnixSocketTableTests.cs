using CsCheck;
using KvmStat.Host;

namespace KvmStat.Tests.Host;

public class UnixSocketTableTests
{
    [Fact]
    public void ListsOnlyListeningSocketsByPath()
    {
        UnixSocketTable table = UnixSocketTable.Parse("""
            Num       RefCount Protocol Flags    Type St Inode Path
            ffff8d7c00000000: 00000002 00000000 00010000 0001 01 7001 /run/a.sock
            ffff8d7c00000001: 00000003 00000000 00000000 0001 03 7002 /run/a.sock
            ffff8d7c00000002: 00000002 00000000 00010000 0001 01 7003 /run/with space.sock
            ffff8d7c00000003: 00000002 00000000 00010000 0005 01 7004 @abstract
            ffff8d7c00000004: 00000002 00000000 00010000 0001 01 7005
            """);
        Assert.Equal([7001UL], table.ListeningOn("/run/a.sock"));
        Assert.Equal([7003UL], table.ListeningOn("/run/with space.sock"));
        Assert.Empty(table.ListeningOn("/run/b.sock"));
    }

    [Fact]
    public void AnyTextParses()
    {
        Gen.String[Gen.Char["0123456789abcdef: /\n@-\u202e"], 0, 400].Sample(text => UnixSocketTable.Parse(text).ListeningOn("/x"), iter: 2000);
    }
}
