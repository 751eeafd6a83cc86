using System.Text.Json;
using KvmStat.Sources;

namespace KvmStat.Output;

/// <summary>What a JSON record says of its sources.</summary>
internal static class JsonHealth
{
    /// <summary>
    /// The sources that could not be read at this sample, with why ("down": [{"source", "target",
    /// "problem"}]), so that a record tells an outage (a QMP peer gone) from an idle VM; absent
    /// while every source reads.
    /// </summary>
    internal static void WriteDown(Utf8JsonWriter w, List<SourceHealth> health)
    {
        bool any = false;
        foreach (SourceHealth source in health)
        {
            if (source.Up)
                continue;
            if (!any)
                w.WriteStartArray("down");
            any = true;
            w.WriteStartObject();
            w.WriteString("source", source.Source);
            w.WriteString("target", source.Target);
            w.WriteString("problem", source.Problem);
            w.WriteEndObject();
        }
        if (any)
            w.WriteEndArray();
    }
}
