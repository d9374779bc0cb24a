namespace AIOps.Trace.Rings;

/// <summary>
/// Receives records drained from a ring. Implemented by structs so that
/// <see cref="RingBuffer.Drain{THandler}(ref THandler)"/> is specialised per handler: no
/// delegate or interface dispatch per record.
/// </summary>
public interface IRecordHandler
{
    /// <summary>One record. The span points into the mapped ring and is valid only during the call.</summary>
    void OnRecord(ReadOnlySpan<byte> record);
}
