using AIOps.Trace.Bpf;

namespace AIOps.Trace.Tests.Kernel;

/// <summary>The attach mechanisms every ground-truth test runs with: each one this kernel has.</summary>
public static class AttachModes
{
    public static TheoryData<AttachMode> All => new() { AttachMode.TpBtf, AttachMode.RawTp, AttachMode.Tracepoint };

    public static string Name(AttachMode mode) => mode switch
    {
        AttachMode.TpBtf => "tp_btf",
        AttachMode.RawTp => "raw_tp",
        AttachMode.Tracepoint => "tracepoint",
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "a forced mode is expected"),
    };
}
