using Microsoft.Extensions.Logging;

namespace AIOps.Trace.Server;

/// <summary>
/// The host's and Kestrel's log as aiops-trace lines on stderr: warnings and errors only, one line
/// each, an exception as its type and message. A stack trace never reaches the user (a port
/// already in use, a client that breaks the protocol).
/// </summary>
internal sealed class OneLineLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new OneLineLogger();

    public void Dispose()
    {
    }

    private sealed class OneLineLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            string message = formatter(state, exception);
            if (exception is not null)
                message += $": {exception.GetType().Name}: {exception.Message}";
            Console.Error.WriteLine("aiops-trace: " + message.ReplaceLineEndings(" "));
        }
    }
}
