namespace KvmStat.Exporter;

/// <summary>What a request's basic authentication came to: let in, refused (401), or not checked because its client has too many checks waiting (429).</summary>
internal enum AuthResult
{
    Accepted,
    Refused,
    Busy,
}
