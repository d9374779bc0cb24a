using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

internal static partial class Interop
{
    [LibraryImport(Shim, EntryPoint = "aiops_map_set_max_entries", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MapSetMaxEntries(SafeBpfObjectHandle obj, string map, uint maxEntries);

    [LibraryImport(Shim, EntryPoint = "aiops_map_fd", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MapFd(SafeBpfObjectHandle obj, string map);

    [LibraryImport(Shim, EntryPoint = "aiops_map_value_size", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int MapValueSize(SafeBpfObjectHandle obj, string map);

    [LibraryImport(Shim, EntryPoint = "aiops_map_lookup")]
    internal static unsafe partial int MapLookup(int mapFd, void* key, void* value, uint valueSize);
}
