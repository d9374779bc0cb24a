namespace AIOps.Trace.Cli;

/// <summary>
/// `aiops-trace completion bash`: a script that asks the binary itself for completions through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive, so commands, options and the values
/// they offer never drift from what the parser accepts.
/// </summary>
internal static class CompletionScript
{
    private const string Bash = """
        # aiops-trace completion for bash: source <(aiops-trace completion bash)
        _aiops_trace_complete() {
            local IFS=$'\n'
            COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}") )
        }
        complete -o default -F _aiops_trace_complete aiops-trace
        """;

    public static int Write(string shell, TextWriter output)
    {
        if (shell != "bash")
            throw new UsageException($"completion '{shell}' is not a shell this knows: expected bash");
        output.WriteLine(Bash);
        return Program.ExitOk;
    }
}
