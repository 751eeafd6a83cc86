using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace KvmStat.Tests.Infrastructure;

/// <summary>
/// A real Prometheus on loopback that scrapes every second with the scrape configuration given,
/// asked through its HTTP API. It and its folder go with Dispose.
/// </summary>
internal sealed class PrometheusServer : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly string _folder;
    private readonly ChildProcess _process;
    private readonly HttpClient _client = Loopback.Client();
    private readonly string _api;

    internal static bool Installed => File.Exists("/usr/bin/prometheus");

    /// <param name="scrapeConfig">The scrape_configs entries (YAML list items, not indented).</param>
    /// <param name="ruleFiles">Rule files to load, by absolute path.</param>
    internal PrometheusServer(string scrapeConfig, params string[] ruleFiles)
    {
        _folder = Directory.CreateTempSubdirectory("kvm_stat-prometheus-").FullName;
        string rules = ruleFiles.Length == 0 ? "" : "rule_files:\n" + string.Concat(ruleFiles.Select(f => $"  - '{f}'\n"));
        File.WriteAllText(Path.Join(_folder, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            {rules}
            scrape_configs:
            {scrapeConfig}
            """);
        int port = Loopback.FreePort();
        _api = $"http://127.0.0.1:{port}";
        try
        {
            _process = ChildProcess.Start("prometheus",
            [
                $"--config.file={Path.Join(_folder, "prometheus.yml")}", $"--storage.tsdb.path={Path.Join(_folder, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            ]);
        }
        catch
        {
            Directory.Delete(_folder, recursive: true);
            throw;
        }
    }

    internal string Folder => _folder;

    internal Task WaitUntilReadyAsync() =>
        WaitAsync(async () => (await _client.GetAsync($"{_api}/-/ready", TestContext.Current.CancellationToken)).IsSuccessStatusCode, "Prometheus ready");

    /// <summary>Polls a condition until it holds; a timeout shows what Prometheus said and its targets.</summary>
    internal async Task WaitAsync(Func<Task<bool>> condition, Func<string> what)
    {
        try
        {
            await EventuallyAsync(condition, "");
        }
        catch (TimeoutException)
        {
            string targets;
            try
            {
                targets = await GetAsync("/api/v1/targets");
            }
            catch (HttpRequestException e)
            {
                targets = e.Message;
            }
            throw new TimeoutException($"{what()}: not reached within {s_timeout}. Prometheus's targets: {targets}\nIts log: {string.Join("\n", _process.Error.Lines.TakeLast(8))}");
        }
    }

    internal Task WaitAsync(Func<Task<bool>> condition, string what) => WaitAsync(condition, () => what);

    /// <summary>The result of an instant query (an array of series, empty when none matched).</summary>
    internal async Task<JsonElement> QueryAsync(string expression)
    {
        string json = await GetAsync($"/api/v1/query?query={Uri.EscapeDataString(expression)}");
        using JsonDocument answer = JsonDocument.Parse(json);
        return answer.RootElement.GetProperty("data").GetProperty("result").Clone();
    }

    /// <summary>Series that match a selector (for a dashboard's label_values variables).</summary>
    internal async Task<JsonElement> SeriesAsync(string selector)
    {
        string json = await GetAsync($"/api/v1/series?match[]={Uri.EscapeDataString(selector)}");
        using JsonDocument answer = JsonDocument.Parse(json);
        return answer.RootElement.GetProperty("data").Clone();
    }

    internal Task<string> GetAsync(string path) => _client.GetStringAsync(_api + path, TestContext.Current.CancellationToken);

    /// <summary>The value of the first series of a query once it reaches at least <paramref name="expected"/>.</summary>
    internal async Task<double> WaitForValueAsync(string expression, double expected)
    {
        double value = 0;
        await WaitAsync(async () =>
        {
            JsonElement result = await QueryAsync(expression);
            if (result.GetArrayLength() == 0)
                return false;
            value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
            return value >= expected;
        }, $"{expression} in Prometheus");
        return value;
    }

    /// <summary>Polls a condition (Prometheus's API has no way to wait) until it holds.</summary>
    internal static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (HttpRequestException)
            {
            }
            if (clock.Elapsed > s_timeout)
                throw new TimeoutException($"{what}: not reached within {s_timeout}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
