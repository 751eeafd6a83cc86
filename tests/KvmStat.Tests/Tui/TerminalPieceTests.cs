using System.Text;
using KvmStat.Tui;

namespace KvmStat.Tests.Tui;

public class TerminalPieceTests
{
    [Fact]
    public void OnlyChangedRowsAreRedrawnInOneBuffer()
    {
        var grid = new ScreenGrid(3, 10);
        var writer = new AnsiFrameWriter();
        grid.Write(0, 0, "title", TextStyle.Bold);
        grid.Write(1, 0, "row one");
        string first = Encoding.UTF8.GetString(writer.Render(grid));
        Assert.StartsWith("\x1b[0m\x1b[H\x1b[2J", first);
        Assert.Contains("\x1b[1;1H\x1b[0;1mtitle\x1b[0m     ", first);
        Assert.Contains("\x1b[2;1Hrow one   ", first);

        Assert.Equal("", Encoding.UTF8.GetString(writer.Render(grid)));

        grid.Write(1, 4, "two");
        string second = Encoding.UTF8.GetString(writer.Render(grid));
        Assert.Equal("\x1b[2;1Hrow two   ", second);

        writer.Invalidate();
        Assert.StartsWith("\x1b[0m\x1b[H\x1b[2J", Encoding.UTF8.GetString(writer.Render(grid)));
    }

    [Fact]
    public void TheBottomRightCellIsNeverWritten()
    {
        var grid = new ScreenGrid(2, 4);
        grid.Write(1, 0, "abcd");
        string frame = Encoding.UTF8.GetString(new AnsiFrameWriter().Render(grid));
        Assert.Contains("\x1b[2;1Habc", frame);
        Assert.DoesNotContain("abcd", frame);
    }

    [Fact]
    public void DecodesKeys()
    {
        var keys = new List<Key>();
        KeyDecoder.Decode("a\r\x7f\x1b[A\x1b[B\x1b[5~\x1b[6~\x03\x1bx\x1bOHé"u8, keys);
        Assert.Equal(
            [Key.Of('a'), new Key(KeyKind.Enter), new Key(KeyKind.Backspace), new Key(KeyKind.Up), new Key(KeyKind.Down),
             new Key(KeyKind.PageUp), new Key(KeyKind.PageDown), new Key(KeyKind.Interrupt), new Key(KeyKind.Escape), Key.Of('x'),
             new Key(KeyKind.Home), Key.Of('é')],
            keys);
        keys.Clear();
        KeyDecoder.Decode("\x1b"u8, keys);
        Assert.Equal([new Key(KeyKind.Escape)], keys);
    }

    [Fact]
    public void GridClipsAndFormatsLikePrintf()
    {
        var grid = new ScreenGrid(1, 20);
        int end = grid.WriteLeft(0, 0, "ab", 5);
        end = grid.WriteRight(0, end, 42L, 6);
        grid.WriteRight(0, end, 12.345, 7, "F1");
        Assert.Equal("ab       42   12.3", grid.RowText(0));
        grid.Write(0, 18, "xyz");
        Assert.Equal("ab       42   12.3xy", grid.RowText(0));
    }
}
