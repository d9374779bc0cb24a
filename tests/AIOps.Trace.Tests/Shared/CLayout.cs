using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace AIOps.Trace.Tests.Shared;

/// <summary>
/// Checks C# mirrors of C structs against the C headers themselves: writes _Static_asserts of
/// every size and offset and has the C compiler judge them.
/// </summary>
internal static class CLayout
{
    /// <summary>Asserts the size of <typeparamref name="T"/> and the offset of each field against struct <paramref name="cName"/>.</summary>
    public static void Check<T>(StringBuilder c, string cName, params (string Field, string CField)[] fields) where T : unmanaged
    {
        c.AppendLine($"_Static_assert(sizeof(struct {cName}) == {Unsafe.SizeOf<T>()}, \"sizeof {cName}\");");
        foreach ((string field, string cField) in fields)
            c.AppendLine($"_Static_assert(offsetof(struct {cName}, {cField}) == {Marshal.OffsetOf<T>(field)}, \"{cName}.{cField}\");");
        // Every field of the mirror is checked: a field added on one side only fails here.
        Assert.Equal(typeof(T).GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance).Length, fields.Length);
    }

    /// <summary>Compiles the asserts (syntax only); a failing one fails the test with the compiler's message.</summary>
    public static void AssertCompiles(StringBuilder c, string header, string? includeDir = null)
    {
        string file = Path.Combine(Path.GetTempPath(), $"aiops-layout-{Guid.NewGuid():N}.c");
        File.WriteAllText(file, c.ToString());
        try
        {
            string include = includeDir is null ? "" : $"-I {includeDir} ";
            var psi = new ProcessStartInfo("cc", $"-fsyntax-only {include}{file}")
            { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            using Process p = Process.Start(psi)!;
            string errors = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, $"layout differs from {header}:\n" + errors);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
