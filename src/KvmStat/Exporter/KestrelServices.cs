using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace KvmStat.Exporter;

/// <summary>
/// The services Kestrel's own HTTPS (UseHttps) takes from its application services, without the
/// generic host or a web host: Kestrel registers them through an IWebHostBuilder (UseKestrelCore),
/// and this one only collects those registrations. No logging (the exporter reports its own
/// problems in plain lines), and metrics that nobody listens to.
/// </summary>
internal sealed class KestrelServices : IWebHostBuilder
{
    private readonly ServiceCollection _services = new();

    private KestrelServices()
    {
    }

    internal static IServiceProvider Create()
    {
        var builder = new KestrelServices();
        builder._services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        builder._services.AddMetrics();
        builder.UseKestrelCore();
        return builder._services.BuildServiceProvider();
    }

    // The interface's one obsolete member: never called, nothing is built here.
#pragma warning disable ASPDEPR008
    IWebHost IWebHostBuilder.Build() => throw new NotSupportedException("only collects Kestrel's services");
#pragma warning restore ASPDEPR008

    public IWebHostBuilder ConfigureAppConfiguration(Action<WebHostBuilderContext, IConfigurationBuilder> configureDelegate) => this;

    public IWebHostBuilder ConfigureServices(Action<IServiceCollection> configureServices)
    {
        configureServices(_services);
        return this;
    }

    public IWebHostBuilder ConfigureServices(Action<WebHostBuilderContext, IServiceCollection> configureServices) =>
        throw new NotSupportedException("Kestrel's core services need no host context");

    public string? GetSetting(string key) => null;

    public IWebHostBuilder UseSetting(string key, string? value) => this;
}
