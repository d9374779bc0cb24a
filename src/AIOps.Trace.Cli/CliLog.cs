using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace AIOps.Trace.Cli;

/// <summary>
/// Where the CLI's messages go. Text (the default): status lines on stdout, warnings and errors on
/// stderr, each prefixed "aiops-trace: ". With --log-format json: every message is one JSON object
/// a line on stderr through Microsoft.Extensions.Logging's JSON console formatter (category
/// "aiops-trace"), and so are the logs of the server `serve` and `analyze` run, so a log
/// collector reads one format; stdout then carries only documents.
/// </summary>
internal static class CliLog
{
    private static ILoggerFactory? _factory;
    private static ILogger? _json;

    /// <summary>Whether messages are JSON log records.</summary>
    public static bool Json => _json is not null;

    /// <summary>Switches to JSON log records until <see cref="Flush"/>.</summary>
    public static void UseJson()
    {
        _factory = LoggerFactory.Create(AddJsonConsole);
        _json = _factory.CreateLogger("aiops-trace");
    }

    /// <summary>The JSON console logger on stderr, for the CLI's messages and a server's own logs alike.</summary>
    public static void AddJsonConsole(ILoggingBuilder builder)
    {
        builder.ClearProviders();
        builder.AddJsonConsole(o =>
        {
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }

    /// <summary>A status line (serving, stopped): stdout in text.</summary>
    public static void Status(string message) => Write(LogLevel.Information, message, Console.Out);

    /// <summary>Something the user should know that does not stop the command.</summary>
    public static void Warning(string message) => Write(LogLevel.Warning, message, Console.Error);

    /// <summary>Why the command stops.</summary>
    public static void Error(string message) => Write(LogLevel.Error, message, Console.Error);

    /// <summary>Writes what the JSON logger still holds (its console writer runs on a thread of its own).</summary>
    public static void Flush()
    {
        _factory?.Dispose();
        _factory = null;
        _json = null;
    }

    private static void Write(LogLevel level, string message, TextWriter text)
    {
        message = message.ReplaceLineEndings(" ");
        if (_json is { } log)
        {
#pragma warning disable CA2254 // The messages are sentences built for people; there is no template to keep.
            log.Log(level, message);
#pragma warning restore CA2254
            return;
        }
        text.WriteLine("aiops-trace: " + message);
        text.Flush();
    }
}
