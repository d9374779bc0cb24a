using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>
/// The attach mechanisms and transports every ground-truth test runs with: each one this kernel
/// has. A tier is one transport with one attach mechanism.
/// </summary>
public static class AttachModes
{
    public static TheoryData<AttachMode> All => new() { AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint };

    public static readonly TransportMode[] Transports = [TransportMode.RingBuf, TransportMode.PerfBuf];

    /// <summary>Every tier: each transport with each attach mechanism.</summary>
    public static TheoryData<TransportMode, AttachMode> Tiers
    {
        get
        {
            var tiers = new TheoryData<TransportMode, AttachMode>();
            foreach (TransportMode transport in Transports)
                foreach (AttachMode attach in All)
                    tiers.Add(transport, attach);
            return tiers;
        }
    }

    public static string Name(AttachMode mode) => mode switch
    {
        AttachMode.TpBtf => "tp_btf",
        AttachMode.RawTp => "raw_tp",
        AttachMode.Tracepoint => "tracepoint",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "a forced mode is expected"),
    };

    public static string Name(TransportMode transport) => transport switch
    {
        TransportMode.RingBuf => "ringbuf",
        TransportMode.PerfBuf => "perfbuf",
        _ => throw new ArgumentOutOfRangeException(nameof(transport), transport, "a forced transport is expected"),
    };
}
