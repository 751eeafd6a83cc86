namespace KvmStat.Tests;

public class TextTests
{
    [Theory]
    [InlineData("web-01", "web-01")]
    [InlineData("a\x1b[31mred", "a\\e[31mred")]
    [InlineData("title\x1b]0;owned\x07", "title\\e]0;owned\\x07")]
    [InlineData("line\nbreak\r", "line\\nbreak\\r")]
    [InlineData("csi\u009b2J", "csi\\x9b2J")]
    [InlineData("rtl\u202eevil", "rtl\\u202eevil")]
    [InlineData("a\u061cb\u2028c\u2029d", "a\\u061cb\\u2028c\\u2029d")]
    [InlineData("web\u200b01\ufeff\u2060", "web\\u200b01\\ufeff\\u2060")]
    [InlineData("a\u00adb\u206ac\u180ed\ufff9e\u034ff\ufe0fg\u115fh\u3164i\u2800j\u00a0k\u17b4", "a\\xadb\\u206ac\\u180ed\\ufff9e\\u034ff\\ufe0fg\\u115fh\\u3164i\\u2800j\\xa0k\\u17b4")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("ünïcödé 名前", "ünïcödé 名前")]
    public void EscapesControlCharacters(string raw, string shown) => Assert.Equal(shown, Text.Escape(raw));
}
