using System.Text;
using AIOps.Trace.Hardening;
using SharpFuzz;

namespace AIOps.Trace.Fuzz;

/// <summary>
/// AFL++'s entry: one fuzz target per family of outside input (<see cref="ParserTargets"/>, the
/// table the Test target's properties run too); an exception or a hang is a finding AFL++ keeps.
/// </summary>
internal static class Program
{
    /// <summary>Writes each target's seeds under <paramref name="root"/>/&lt;target&gt;/.</summary>
    private static void WriteSeeds(string root)
    {
        foreach (string name in ParserTargets.All.Keys)
        {
            string dir = Path.Combine(root, name);
            Directory.CreateDirectory(dir);
            int n = 0;
            foreach (byte[] seed in ParserTargets.SeedInputs(name))
                File.WriteAllBytes(Path.Combine(dir, $"seed-{n++}"), seed);
        }
    }

    public static int Main(string[] args)
    {
        if (args is ["seeds", string root])
        {
            WriteSeeds(root);
            return 0;
        }
        if (args is ["targets"])
        {
            Console.WriteLine(string.Join(' ', ParserTargets.All.Keys));
            return 0;
        }
        if (args.Length != 1 || !ParserTargets.All.TryGetValue(args[0], out Action<byte[]>? target))
        {
            Console.Error.WriteLine($"aiops-trace-fuzz: expected a target ({string.Join(", ", ParserTargets.All.Keys)}), 'targets' or 'seeds DIR'");
            return 2;
        }
        // Under afl-fuzz: persistent mode over shared memory. By hand: one input on stdin.
        if (Environment.GetEnvironmentVariable("__AFL_SHM_ID") is null)
        {
            using var input = new MemoryStream();
            Console.OpenStandardInput().CopyTo(input);
            target(input.ToArray());
            return 0;
        }
        Fuzzer.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            target(input.ToArray());
        });
        return 0;
    }
}
