using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    [LibraryImport(Shim, EntryPoint = "aiops_object_open", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int ObjectOpen(byte* data, ulong size, string name, out IntPtr obj);

    [LibraryImport(Shim, EntryPoint = "aiops_object_open_btf", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int ObjectOpenBtf(byte* data, ulong size, string name, string? btfPath, out IntPtr obj);

    [LibraryImport(Shim, EntryPoint = "aiops_object_close")]
    internal static partial void ObjectClose(IntPtr obj);

    [LibraryImport(Shim, EntryPoint = "aiops_object_set_const", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int ObjectSetConst(SafeBpfObjectHandle obj, string name, void* value, uint size);

    [LibraryImport(Shim, EntryPoint = "aiops_program_set_autoload", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ProgramSetAutoload(SafeBpfObjectHandle obj, string prog, int autoload);

    [LibraryImport(Shim, EntryPoint = "aiops_object_load")]
    internal static unsafe partial int ObjectLoad(SafeBpfObjectHandle obj, byte* log, uint logSize);

    [LibraryImport(Shim, EntryPoint = "aiops_program_attach", StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int ProgramAttach(SafeBpfObjectHandle obj, string prog, out IntPtr link, byte* log, uint logSize);

    [LibraryImport(Shim, EntryPoint = "aiops_link_destroy")]
    internal static partial int LinkDestroy(IntPtr link);

    [LibraryImport(Shim, EntryPoint = "aiops_program_run_on_cpu", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ProgramRunOnCpu(SafeBpfObjectHandle obj, string prog, uint cpu, out uint retval);

    [LibraryImport(Shim, EntryPoint = "aiops_probe_map_type")]
    internal static partial int ProbeMapType(uint mapType);

    [LibraryImport(Shim, EntryPoint = "aiops_probe_prog_type")]
    internal static partial int ProbeProgType(uint progType);

    [LibraryImport(Shim, EntryPoint = "aiops_probe_helper")]
    internal static partial int ProbeHelper(uint progType, uint helperId);

    [LibraryImport(Shim, EntryPoint = "aiops_probe_test_run_on_cpu")]
    internal static partial int ProbeTestRunOnCpu();
}
