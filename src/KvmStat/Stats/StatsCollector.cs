using KvmStat.Sources;

namespace KvmStat.Stats;

/// <summary>
/// Turns the sources' raw values into what every output shows: for each field a total (since the
/// start, or since the last reset) and a delta (since the previous sample), plus the real time
/// the interval took. <see cref="Sample(long)"/> is the refresh hot path: it does not allocate. The
/// sources belong to the sampler's <see cref="SamplingSources"/>, which closes them.
/// </summary>
internal sealed class StatsCollector : IFieldValues
{
    private readonly IStatsSource[] _sources;
    private readonly int[] _offsets;
    private readonly FieldSet _fields;
    private readonly long[] _raw;
    private readonly long[] _baseline;
    private readonly long[] _totals;
    private readonly long[] _previous;
    private readonly long[] _deltas;
    private readonly TimeProvider _time;
    private long _lastTimestamp;

    internal StatsCollector(IReadOnlyList<IStatsSource> sources, TimeProvider time)
    {
        _time = time;
        _sources = [.. sources];
        _offsets = new int[_sources.Length];
        var fields = new List<StatField>();
        for (int i = 0; i < _sources.Length; i++)
        {
            _offsets[i] = fields.Count;
            fields.AddRange(_sources[i].Fields);
        }
        _fields = new FieldSet(fields);
        _raw = new long[_fields.Count];
        _baseline = new long[_fields.Count];
        _totals = new long[_fields.Count];
        _previous = new long[_fields.Count];
        _deltas = new long[_fields.Count];
    }

    internal IReadOnlyList<IStatsSource> Sources => _sources;

    public FieldSet Fields => _fields;

    public ReadOnlySpan<long> Totals => _totals;

    /// <summary>The sources' values as last read (no reset: the totals since 'r' are <see cref="Totals"/>).</summary>
    internal ReadOnlySpan<long> Raw => _raw;

    public ReadOnlySpan<long> Deltas => _deltas;

    public double IntervalSeconds { get; private set; }

    public int SampleCount { get; private set; }

    /// <summary>Reads every source once and updates totals and deltas; <paramref name="now"/> is the sample's one moment (<see cref="Sampler"/>).</summary>
    internal void Sample(long now)
    {
        for (int s = 0; s < _sources.Length; s++)
        {
            int count = _sources[s].Fields.Count;
            _sources[s].Read(_raw.AsSpan(_offsets[s], count));
        }

        IntervalSeconds = SampleCount == 0 ? 0 : (now - _lastTimestamp) / (double)_time.TimestampFrequency;
        _lastTimestamp = now;

        for (int i = 0; i < _fields.Count; i++)
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
        for (int i = 0; i < _fields.Count; i++)
        {
            if (_fields[i].Kind != StatKind.Counter)
                continue;
            _baseline[i] = _raw[i];
            _previous[i] = 0;
            _totals[i] = 0;
            _deltas[i] = 0;
        }
    }

}
