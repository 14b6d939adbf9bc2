using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shortener.Migrations;
using Shortener.ServiceDefaults;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddPostgres();
builder.Services.AddOptions<MigrationOptions>().BindConfiguration(MigrationOptions.Section);
builder.Services.AddSingleton<Migrator>();

using var host = builder.Build();
await host.StartAsync();
var exitCode = await host.Services.GetRequiredService<Migrator>().RunAsync(CancellationToken.None);
await host.StopAsync();
return exitCode;
