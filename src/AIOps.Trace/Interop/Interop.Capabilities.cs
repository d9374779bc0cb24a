using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    [LibraryImport(Shim, EntryPoint = "aiops_caps_limit")]
    internal static partial int CapsLimit(ulong keep, int timeoutMs);
}
