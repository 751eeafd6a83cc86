using System.Collections.Concurrent;
using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

public class BcryptQueueTests
{
    /// <summary>
    /// Clients are served in turn: while one check of a flooding client runs, its next four wait
    /// (a fifth is refused at once), and another client's check, queued after them all, runs
    /// after one more of the flooder's, not after all four (first come, first served).
    /// </summary>
    [Fact]
    public async Task ClientsAreServedInTurn()
    {
        var queue = new BcryptQueue(perClient: 4);
        using var started = new ManualResetEventSlim();
        using var gate = new ManualResetEventSlim();
        var order = new ConcurrentQueue<string>();
        Func<bool> Check(string who) => () =>
        {
            if (who == "F0")
            {
                started.Set();
                gate.Wait(TestContext.Current.CancellationToken);
            }
            order.Enqueue(who);
            return false;
        };
        CancellationToken cancel = TestContext.Current.CancellationToken;
        var checks = new List<Task<bool>> { queue.TryRun(1, Check("F0"), cancel)! };
        started.Wait(cancel);
        for (int i = 1; i <= 4; i++)
            checks.Add(queue.TryRun(1, Check($"F{i}"), cancel) ?? throw new InvalidOperationException($"F{i} was refused"));
        Assert.Null(queue.TryRun(1, Check("F5"), cancel));
        checks.Add(queue.TryRun(2, Check("S"), cancel)!);
        gate.Set();
        await Task.WhenAll(checks);
        Assert.Equal(["F0", "F1", "S", "F2", "F3", "F4"], order);
        Assert.Equal(1, queue.PeakConcurrentChecks);
    }
}
