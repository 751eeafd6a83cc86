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

    /// <summary>
    /// Any table of sockets, in any order, among lines of noise: a path's listening sockets are
    /// exactly those the table lists with that path and the accepting-connections flag
    /// (__SO_ACCEPTCON), and noise is no socket.
    /// </summary>
    [Fact]
    public void TheListenersOfAPathAreExactlyThoseTheTableLists()
    {
        Gen<(ulong Inode, int State, string Path)> socket = Gen.Select(Gen.ULong[1, 1UL << 40], Gen.Int[1, 3], Gen.Int[0, 4].Select(i => new[] { "/x", "/y", "/x y", "@x", "" }[i]));
        Gen<string> noise = Gen.String[Gen.Char["0123456789abcdef: /\n@-\u202e"], 0, 80];
        Gen.Select(socket.List[0, 30], noise.List[0, 5]).Sample((sockets, junk) =>
        {
            var text = new System.Text.StringBuilder("Num       RefCount Protocol Flags    Type St Inode Path\n");
            foreach ((ulong inode, int state, string path) in sockets)
                text.Append($"ffff8d7c00000000: 00000002 00000000 {(state == 1 ? "00010000" : "00000000")} 0001 {state:x2} {inode} {path}\n");
            foreach (string line in junk)
                text.Append(line.Replace("\n", "")).Append('\n');
            UnixSocketTable table = UnixSocketTable.Parse(text.ToString());
            foreach (string path in new[] { "/x", "/y", "/x y", "@x" })
            {
                ulong[] expected = [.. sockets.Where(s => s.State == 1 && s.Path == path).Select(s => s.Inode)];
                Assert.Equal(expected.Order(), table.ListeningOn(path).Order());
            }
        }, iter: 2000);
    }
}
