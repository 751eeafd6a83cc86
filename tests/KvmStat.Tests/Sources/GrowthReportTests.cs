using KvmStat.Sources;

namespace KvmStat.Tests.Sources;

public class GrowthReportTests
{
    /// <summary>A count that grows at every capture (a table that stays full) is said at its first event and then each time it doubles.</summary>
    [Fact]
    public void AGrowingCountIsSaidAtFirstAndThenEachTimeItDoubles()
    {
        var report = new GrowthReport();
        var said = new List<(long Count, long Grown)>();
        foreach (long count in new long[] { 0, 0, 3, 4, 5, 6, 6, 11, 12, 13, 24, 25 })
        {
            if (report.Due(count, out long grown))
                said.Add((count, grown));
        }
        Assert.Equal([(3L, 3L), (6L, 3L), (12L, 6L), (24L, 12L)], said);

        // A day of captures every second, 100 more events each: 17 lines, not 86,400.
        report = new GrowthReport();
        int lines = 0;
        for (long second = 1; second <= 86_400; second++)
            lines += report.Due(second * 100, out _) ? 1 : 0;
        Assert.Equal(17, lines);
    }
}
