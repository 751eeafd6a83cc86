namespace KvmStat.Exporter;

/// <summary>A file the web configuration names that cannot be read: its fix is the file's, not the format's.</summary>
internal sealed class WebConfigFileException(string message) : FormatException(message);
