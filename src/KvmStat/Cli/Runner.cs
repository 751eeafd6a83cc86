using System.CommandLine;
using KvmStat.Host;

namespace KvmStat.Cli;

/// <summary>The composition root: parses the command line, builds what the mode needs, runs it.</summary>
internal static class Runner
{
    internal static int Run(string[] args, HostPaths paths, TextWriter output, TextWriter error, TimeProvider time)
    {
        RootCommand root = CommandLine.Build();
        ParseResult result = CommandLine.Parse(root, args);
        if (result.Errors.Count > 0)
        {
            // The parser quotes what was typed: Report makes its control characters visible, as every line's.
            Reporter.Report(new UsageException(result.Errors[0].Message, "see kvm_stat --help for the options."), error);
            return KvmStatException.UsageExitCode;
        }
        // The root command has no action of its own: one here is -h/--help or --version.
        if (result.Action is not null)
            return result.Invoke(new InvocationConfiguration { Output = output, Error = error });

        Options options = CommandLine.ToOptions(result);
        var reporter = new Reporter(options.Verbose, error);
        switch (options.Mode)
        {
            case RunMode.ManPage:
                output.Write(ManPage.Render(root));
                return 0;
            case RunMode.Completion:
                output.Write(ShellCompletion.Render(root, options.CompletionShell!));
                return 0;
            case RunMode.Doctor:
                return new Doctor(paths, output, time, DoctorRequest.Of(options, Given(result))).Run(TimeSpan.FromSeconds(1));
        }

        // The session owns everything that counts; its end hands the counters to a closing child.
        using Session session = Session.Resolve(options, paths, reporter, time);
        return options.Mode switch
        {
            RunMode.ListFields => ListFields(session, output),
            RunMode.Batch => BatchMode.Run(session, reporter, output),
            RunMode.Log => LogMode.Run(session, reporter, output),
            RunMode.Serve => ServeMode.Run(session, reporter),
            _ => ScreenMode.Run(session, reporter),
        };
    }

    /// <summary>The options on the command line (not those left at their defaults), by name and as typed.</summary>
    private static IEnumerable<(string Name, string Typed)> Given(ParseResult result) =>
        result.CommandResult.Children.OfType<System.CommandLine.Parsing.OptionResult>()
            .Where(r => !r.Implicit)
            .Select(r => (r.Option.Name, r.IdentifierToken?.Value ?? r.Option.Name));

    /// <summary>-f help: the parent fields of the chosen sources, one per line, indented by two spaces.</summary>
    private static int ListFields(Session session, TextWriter output)
    {
        foreach (string name in session.Factory.ParentFieldNames())
            // Names are the kernel's (or a fixture's): made safe to print, as every name from outside is.
            output.WriteLine("  " + Text.Escape(name));
        return 0;
    }
}
