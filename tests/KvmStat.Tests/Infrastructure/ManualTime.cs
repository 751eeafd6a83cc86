namespace KvmStat.Tests.Infrastructure;

/// <summary>A clock the test moves by hand: timestamps in nanoseconds, local time in UTC.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _nanoseconds = 1_000_000_000;

    internal static readonly DateTimeOffset Epoch = new(2026, 11, 27, 9, 5, 3, TimeSpan.Zero);

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => _nanoseconds;

    public override DateTimeOffset GetUtcNow() => Epoch + TimeSpan.FromTicks((_nanoseconds - 1_000_000_000) / 100);

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    internal void Advance(TimeSpan by) => _nanoseconds += by.Ticks * 100;

    internal void AdvanceTo(long timestamp) => _nanoseconds = Math.Max(_nanoseconds, timestamp);
}
