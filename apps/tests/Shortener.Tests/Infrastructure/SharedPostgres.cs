namespace Shortener.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL server for the whole test run (xunit 2 has no assembly fixture); every test class
/// takes its own database from it, so classes run in parallel without seeing each other's data.
/// </summary>
public static class SharedPostgres
{
    private static readonly Lazy<Task<PostgresServer>> s_server = new(async () =>
    {
        var server = await PostgresServer.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    });

    public static Task<PostgresServer> ServerAsync() => s_server.Value;

    public static async Task<string> CreateDatabaseAsync(string prefix) => await (await ServerAsync()).CreateDatabaseAsync(prefix);
}
