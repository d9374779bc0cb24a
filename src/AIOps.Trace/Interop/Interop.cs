using System.Reflection;
using System.Runtime.InteropServices;

namespace AIOps.Trace.Interop;

/// <summary>
/// Raw declarations of libaiops_shim (native/aiops.h), grouped by concern in the partial files
/// Interop.*.cs. Every function returns 0 (or a documented non-negative value) or -errno;
/// <see cref="Ensure"/> turns the negative ones into typed exceptions.
/// </summary>
internal static partial class Interop
{
    internal const string Shim = "aiops_shim";

    /// <summary>The ABI version this managed code was written against (AIOPS_SHIM_ABI_VERSION).</summary>
    internal const int ExpectedAbiVersion = 3;

    static Interop()
    {
        // The shim travels beside the executable (published) or the assembly (tests, library
        // users): look there first so no LD_LIBRARY_PATH is needed.
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(Interop).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // A resolver was set already (another load context); keep the default probing.
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Shim)
            return IntPtr.Zero;
        foreach (string dir in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(Environment.ProcessPath) ?? "" })
        {
            string candidate = Path.Combine(dir, "libaiops_shim.so");
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out IntPtr handle))
                return handle;
        }
        return IntPtr.Zero;
    }

    [LibraryImport(Shim, EntryPoint = "aiops_abi_version")]
    internal static partial int AbiVersion();

    [LibraryImport(Shim, EntryPoint = "aiops_possible_cpus")]
    internal static partial int PossibleCpus();

    [LibraryImport(Shim, EntryPoint = "aiops_close")]
    internal static partial int Close(int fd);
}
