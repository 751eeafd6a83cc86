using System.Diagnostics;
using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// Turns the sources' raw values into what every output shows: for each field a total (since the
/// start, or since the last reset) and a delta (since the previous sample), plus the real time
/// the interval took. <see cref="Sample"/> is the refresh hot path: it does not allocate.
/// </summary>
internal sealed class StatsCollector : IDisposable
{
    private readonly IStatsSource[] _sources;
    private readonly int[] _offsets;
    private readonly StatField[] _fields;
    private readonly long[] _raw;
    private readonly long[] _baseline;
    private readonly long[] _totals;
    private readonly long[] _previous;
    private readonly long[] _deltas;
    private readonly Func<long> _clock;
    private long _lastTimestamp;

    /// <param name="clock">Monotonic timestamps in <see cref="Stopwatch.Frequency"/> units (tests pass their own).</param>
    internal StatsCollector(IReadOnlyList<IStatsSource> sources, Func<long>? clock = null)
    {
        _clock = clock ?? Stopwatch.GetTimestamp;
        _sources = [.. sources];
        _offsets = new int[_sources.Length];
        var fields = new List<StatField>();
        for (int i = 0; i < _sources.Length; i++)
        {
            _offsets[i] = fields.Count;
            fields.AddRange(_sources[i].Fields);
        }
        _fields = [.. fields];
        _raw = new long[_fields.Length];
        _baseline = new long[_fields.Length];
        _totals = new long[_fields.Length];
        _previous = new long[_fields.Length];
        _deltas = new long[_fields.Length];

        ByName = new int[_fields.Length];
        for (int i = 0; i < ByName.Length; i++)
            ByName[i] = i;
        Array.Sort(ByName, (a, b) => string.CompareOrdinal(_fields[a].Name, _fields[b].Name));
    }

    internal IReadOnlyList<IStatsSource> Sources => _sources;

    /// <summary>The source that provides field <paramref name="index"/>.</summary>
    internal IStatsSource SourceOf(int index)
    {
        for (int s = _sources.Length - 1; s >= 0; s--)
        {
            if (index >= _offsets[s])
                return _sources[s];
        }
        throw new ArgumentOutOfRangeException(nameof(index));
    }

    internal IReadOnlyList<StatField> Fields => _fields;

    /// <summary>Field indices in name order (ordinal, like Python's sorted()).</summary>
    internal int[] ByName { get; }

    internal ReadOnlySpan<long> Totals => _totals;

    internal ReadOnlySpan<long> Deltas => _deltas;

    /// <summary>Seconds between the last two samples (since the start for the first).</summary>
    internal double IntervalSeconds { get; private set; }

    internal int SampleCount { get; private set; }

    internal long LastTimestamp => _lastTimestamp;

    /// <summary>Reads every source once and updates totals and deltas.</summary>
    internal void Sample()
    {
        for (int s = 0; s < _sources.Length; s++)
        {
            int count = _sources[s].Fields.Count;
            _sources[s].Read(_raw.AsSpan(_offsets[s], count));
        }

        long now = _clock();
        IntervalSeconds = SampleCount == 0 ? 0 : (now - _lastTimestamp) / (double)Stopwatch.Frequency;
        _lastTimestamp = now;

        for (int i = 0; i < _fields.Length; i++)
        {
            long total = _fields[i].Kind == StatKind.Counter ? _raw[i] - _baseline[i] : _raw[i];
            _deltas[i] = total - _previous[i];
            _totals[i] = total;
            _previous[i] = total;
        }
        SampleCount++;
    }

    /// <summary>Starts the counters' totals again from zero (the TUI's 'r').</summary>
    internal void ResetTotals()
    {
        for (int i = 0; i < _fields.Length; i++)
        {
            if (_fields[i].Kind != StatKind.Counter)
                continue;
            _baseline[i] = _raw[i];
            _previous[i] = 0;
            _totals[i] = 0;
            _deltas[i] = 0;
        }
    }

    public void Dispose()
    {
        foreach (IStatsSource source in _sources)
            source.Dispose();
    }
}
