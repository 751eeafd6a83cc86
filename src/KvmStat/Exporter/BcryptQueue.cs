namespace KvmStat.Exporter;

/// <summary>
/// Where bcrypt checks wait for the one core they may use: a queue per client (a client on this
/// host its local user, another host's its address, as <see cref="ConnectionGate.ClientOf"/>
/// counts them), served in turn, one check of each client
/// with work waiting before another of the same. A client that floods the server with failed
/// logins makes only its own queue long, and a full queue refuses at once (the caller answers
/// 429): a correct scraper waits for at most one check of each other client. The worker runs only
/// while there is work; reloads of the web configuration share it.
/// </summary>
internal sealed class BcryptQueue(int perClient = 4, int clients = 1024)
{
    internal static BcryptQueue Shared { get; } = new();

    private sealed record Job(Func<bool> Check, CancellationToken Cancel)
    {
        internal TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly object _lock = new();
    private readonly Dictionary<UInt128, Queue<Job>> _waiting = [];
    private readonly Queue<UInt128> _turns = new();
    private bool _working;
    private int _running;
    private int _peak;

    /// <summary>The most checks that ever ran at once (for tests: one).</summary>
    internal int PeakConcurrentChecks => Volatile.Read(ref _peak);

    /// <summary>Checks run so far (for tests).</summary>
    internal int Runs { get; private set; }

    /// <summary>Queues a check of <paramref name="client"/>; null when that client already has its share waiting (or too many clients wait).</summary>
    internal Task<bool>? TryRun(UInt128 client, Func<bool> check, CancellationToken cancel)
    {
        // A client that has gone already holds no place in the queue.
        if (cancel.IsCancellationRequested)
            return Task.FromCanceled<bool>(cancel);
        var job = new Job(check, cancel);
        lock (_lock)
        {
            if (!_waiting.TryGetValue(client, out Queue<Job>? queue))
            {
                if (_waiting.Count >= clients)
                    return null;
                _waiting[client] = queue = new Queue<Job>();
                _turns.Enqueue(client);
            }
            if (queue.Count >= perClient)
                return null;
            queue.Enqueue(job);
            if (!_working)
            {
                _working = true;
                Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
        }
        return job.Done.Task;
    }

    private void Work()
    {
        while (true)
        {
            Job job;
            lock (_lock)
            {
                if (!_turns.TryDequeue(out UInt128 client))
                {
                    _working = false;
                    return;
                }
                Queue<Job> queue = _waiting[client];
                job = queue.Dequeue();
                if (queue.Count > 0)
                    _turns.Enqueue(client);
                else
                    _waiting.Remove(client);
                Runs++;
            }
            if (job.Cancel.IsCancellationRequested)
            {
                job.Done.TrySetCanceled(job.Cancel);
                continue;
            }
            int running = Interlocked.Increment(ref _running);
            int peak;
            while (running > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, running, peak) != peak)
            {
            }
            try
            {
                job.Done.TrySetResult(job.Check());
            }
            catch (Exception e)
            {
                job.Done.TrySetException(e);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
