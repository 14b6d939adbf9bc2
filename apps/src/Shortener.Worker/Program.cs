using Shortener.ServiceDefaults;
using Shortener.Worker;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddPostgres();
builder.AddRedis();
builder.AddClickAggregation();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGet("/lag", (StreamLagMonitor lag, CancellationToken ct) => lag.ReadAsync(ct));

app.Run();
