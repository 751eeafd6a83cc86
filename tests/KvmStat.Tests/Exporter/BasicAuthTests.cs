using System.Diagnostics;
using System.Text;
using KvmStat.Exporter;

namespace KvmStat.Tests.Exporter;

/// <summary>What a failed login costs: the same for an unknown user as for a wrong password, and never more than one core.</summary>
public class BasicAuthTests
{
    // Cost 8: about 15 ms a check, long enough to time, short enough for the suite.
    private static readonly string s_aliceHash = BCrypt.Net.BCrypt.HashPassword("secret", 8);

    private static string Header(string user, string password) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    private static async Task<double> MedianMilliseconds(BasicAuth auth, string header, int runs = 9)
    {
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.False(await auth.AcceptsAsync(header, CancellationToken.None));
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times.Order().ElementAt(runs / 2);
    }

    [Fact]
    public async Task AnUnknownUserCostsWhatAWrongPasswordCosts()
    {
        var auth = new BasicAuth(new Dictionary<string, string> { ["alice"] = s_aliceHash });
        // Interleaved, so that whatever else runs on the machine weighs on both alike.
        var wrongPassword = new List<double>();
        var unknownUser = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            wrongPassword.Add(await MedianMilliseconds(auth, Header("alice", "wrong"), runs: 1));
            unknownUser.Add(await MedianMilliseconds(auth, Header("mallory", "secret"), runs: 1));
        }
        double ratio = unknownUser.Order().ElementAt(3) / wrongPassword.Order().ElementAt(3);
        Assert.True(ratio is > 0.5 and < 2.0, $"an unknown user takes {ratio:F2} times what a wrong password takes");
        Assert.True(await auth.AcceptsAsync(Header("alice", "secret"), CancellationToken.None));
    }

    /// <summary>Sixteen failed logins at once, from threads of their own: bcrypt never runs twice at the same time.</summary>
    [Fact]
    public async Task FailedLoginsOccupyOneCoreAtMost()
    {
        var auth = new BasicAuth(new Dictionary<string, string> { ["alice"] = s_aliceHash });
        using var start = new ManualResetEventSlim();
        Task[] logins = [.. Enumerable.Range(0, 16).Select(i => Task.Factory.StartNew(() =>
        {
            start.Wait();
            return auth.AcceptsAsync(Header("alice", $"wrong{i}"), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))];
        start.Set();
        await Task.WhenAll(logins);
        Assert.Equal(1, BasicAuth.PeakConcurrentChecks);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer x")]
    [InlineData("Basic !!!")]
    [InlineData("Basic YWxpY2U=")] // "alice" without a colon
    public async Task MalformedHeadersAreRefusedWithoutAnError(string? header) =>
        Assert.False(await new BasicAuth(new Dictionary<string, string> { ["alice"] = s_aliceHash }).AcceptsAsync(header, CancellationToken.None));
}
